"""Export a tenant's memories as JSON Lines; import them back, atomically and exactly."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from lifecycle.decay import TIER_BITS
from service.admin.schemas import ImportRead
from service.admin.transfer_format import MemoryExport, end_line, export_line
from service.metrics import record_secrets
from service.privacy.policy import WritePolicy, load_policy
from service.privacy.screen import SecretRejected, screen
from service.state import AppState
from storage.db import unit_of_work
from storage.errors import Conflict, NotFound
from storage.factory import StoredEmbedding, as_columns, new_memory
from storage.quantization import encode
from storage.repositories import TenantRepository
from storage.repositories.transfer import TransferRepository
from storage.types import utcnow

logger = logging.getLogger("mnemonix")
OnConflict = Literal["error", "skip"]
EXPORT_BATCH = 2000
INDEX_CHUNK = 5000
UNSET_TENANT = uuid.UUID(int=0)


def export_lines(state: AppState, *, tenant_id: uuid.UUID) -> Iterator[bytes]:
    """Every memory of the tenant, one line each, in id order, then the end line.

    The ids are read first; their rows follow in batches, each its own short transaction,
    so a long export never holds a lock: a memory written meanwhile does not appear, one
    deleted meanwhile may or may not, and none appears twice. If anything fails part-way
    the stream stops without its end line, which readers treat as cut short.
    """
    state.access.flush()  # export the access counts searches have recorded so far
    now = state.clock()  # what has expired by the start is left out, as from every read
    with state.sessions() as session:
        ids = TransferRepository(session).export_ids(tenant_id, now=now)
    count = 0
    for start in range(0, len(ids), EXPORT_BATCH):
        with state.sessions() as session:
            repo = TransferRepository(session)
            rows = [
                row
                for row in repo.export_rows(ids[start : start + EXPORT_BATCH])
                if row["expires_at"] is None or row["expires_at"] > now
            ]
            if not rows:
                continue
            links = repo.links_in_range(tenant_id, rows[0]["id"], rows[-1]["id"])
        yield b"".join(export_line(row, links.get(row["id"], ())) for row in rows)
        count += len(rows)
    yield end_line(count)


def _columns(
    state: AppState, item: MemoryExport, policy: WritePolicy, number: int
) -> dict[str, Any]:
    """The ``memory`` row of an import line (column names; ``tenant_id`` is set in the
    transaction, once the tenant is known), its content and metadata screened by the
    tenant's write policy. The embedding is kept when it is the server's model and
    dimension and nothing was redacted, else left to embed."""
    try:
        screened = screen(policy, content=item.content, metadata=item.metadata)
    except SecretRejected as exc:
        record_secrets(state.metrics, [str(exc.extra["kind"])], action="rejected")
        raise SecretRejected(f"Line {number}: {exc.detail}", line=number, **exc.extra) from None
    record_secrets(state.metrics, screened.kinds, action="redacted")
    found = item.embedding
    kept = (
        StoredEmbedding(found.payload(), found.bits, found.scale, found.model, found.dim)
        if found is not None
        and not screened.kinds
        and found.model == state.embedder.model_name
        and found.dim == state.embedder.dimension
        else None
    )
    return as_columns(
        new_memory(
            tenant_id=UNSET_TENANT,
            memory_id=item.id,
            content=screened.content,
            created_at=item.created_at,
            embedding=kept,
            user_id=item.user_id,
            agent_id=item.agent_id,
            session_id=item.session_id,
            metadata=screened.metadata,
            occurred_at=item.occurred_at,
            updated_at=item.updated_at,
            importance=item.importance,
            pinned=item.pinned,
            access_count=item.access_count,
            last_accessed_at=item.last_accessed_at,
            strength=item.strength,
            stability=item.stability,
            tier=item.tier,
            version=item.version,
            superseded_by=item.superseded_by,
            replaced_by=item.replaced_by,
            superseded_at=item.superseded_at,
            valid_until=item.valid_until,
            expires_at=item.expires_at,
        )
    )


def _embed_missing(state: AppState, rows: Sequence[tuple[dict[str, Any], int]]) -> None:
    """Embed from text the rows whose stored code was for another model (or absent), at the
    precision they were stored at (else their tier's)."""
    if not rows:
        return
    vectors = state.embedder.embed([row["content"] for row, _ in rows])
    for (row, bits), vector in zip(rows, vectors, strict=True):
        code = encode(vector, bits)
        row["embedding"], row["embedding_bits"] = code.payload, code.bits
        row["embedding_scale"] = code.scale
        row["embedding_model"] = state.embedder.model_name
        row["embedding_dim"] = state.embedder.dimension


def _index(
    state: AppState, tenant_id: uuid.UUID, rows: list[dict[str, Any]], *, fresh: bool
) -> None:
    """Bring the tenant's engine in step with the committed rows: rebuilt from SQL when the
    import filled an empty tenant (one bulk build), else the new rows applied in chunks, in
    ``(created_at, id)`` order, the order a rebuild from SQL would use."""
    if fresh:
        state.indexes.rebuild(tenant_id)
        return
    rows.sort(key=lambda r: (r["created_at"], r["id"]))
    for start in range(0, len(rows), INDEX_CHUNK):
        chunk = [
            SimpleNamespace(**row, meta=row["metadata"])
            for row in rows[start : start + INDEX_CHUNK]
        ]
        state.indexes.apply(tenant_id, upserted=chunk)


def import_memories(
    state: AppState,
    *,
    tenant_name: str,
    items: Sequence[tuple[int, MemoryExport]],
    on_conflict: OnConflict = "error",
    create_tenant: bool = False,
) -> ImportRead:
    """All or nothing: one transaction. An id already stored is a ``Conflict`` naming its
    line, or skipped with ``on_conflict="skip"`` (so re-running an import is safe). A line
    already expired is skipped; content and metadata pass the tenant's write policy
    (``SecretRejected`` names the line under ``reject``)."""
    with state.sessions() as session:
        existing = TransferRepository(session).existing_ids([item.id for _, item in items])
    if existing and on_conflict == "error":
        number, item = next((n, i) for n, i in items if i.id in existing)
        raise Conflict(
            f"Line {number}: memory {item.id} already exists.", line=number, id=str(item.id)
        )
    clock = state.clock()
    fresh = [
        (number, item)
        for number, item in items
        if item.id not in existing and (item.expires_at is None or item.expires_at > clock)
    ]
    with state.sessions() as session:
        known = TenantRepository(session).by_name(tenant_name)
        policy = load_policy(known.write_policy if known is not None else None)
    if known is None and not create_tenant:
        raise NotFound(f"No tenant named {tenant_name!r} (pass create_tenant=true).")
    rows = [_columns(state, item, policy, number) for number, item in fresh]
    _embed_missing(  # before the transaction: embedding is slow, a write lock is not free
        state,
        [
            (row, item.embedding.bits if item.embedding else TIER_BITS.get(item.tier, 8))
            for row, (_, item) in zip(rows, fresh, strict=True)
            if row["embedding"] is None
        ],
    )
    now, started = utcnow(), time.perf_counter()
    with unit_of_work(state.sessions) as session:
        tenants = TenantRepository(session)
        tenant = tenants.by_name(tenant_name) or tenants.add(tenant_name)
        repo = TransferRepository(session)
        was_empty = not repo.has_memories(tenant.id)
        for row in rows:
            row["tenant_id"] = tenant.id
        try:
            repo.insert_exact(rows)
            repo.add_links(
                [
                    {
                        "tenant_id": tenant.id,
                        "memory_id": item.id,
                        "other_id": link.other_id,
                        "relation": link.relation,
                        "detail": link.detail,
                        "created_at": link.created_at,
                    }
                    for _, item in fresh
                    for link in item.links
                ]
            )
        except IntegrityError as exc:  # a concurrent import took an id first
            raise Conflict("A memory of this import was stored concurrently; retry.") from exc
        repo.add_events(
            [
                {
                    "tenant_id": tenant.id,
                    "memory_id": row["id"],
                    "event": "created",
                    "version": row["version"],
                    "changes": {"content": row["content"], "metadata": row["metadata"]},
                    "actor": "import",
                    "created_at": now,
                }
                for row in rows
            ]
        )
        tenant_id = tenant.id
    stored = time.perf_counter()
    if rows:
        _index(state, tenant_id, rows, fresh=was_empty)
    logger.info(
        "import into %s: %d memories stored in %.2f s, indexed in %.2f s",
        tenant_name,
        len(rows),
        stored - started,
        time.perf_counter() - stored,
    )
    return ImportRead(imported=len(rows), skipped=len(items) - len(rows))
