"""Export a tenant's memories as JSON Lines; import them back, atomically and exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from lifecycle.decay import TIER_BITS
from service.admin.schemas import ImportRead
from service.admin.transfer_format import MemoryExport, export_line
from service.state import AppState
from storage.db import unit_of_work
from storage.errors import Conflict, NotFound
from storage.models import Memory, MemoryLink
from storage.quantization import encode
from storage.records import content_hash
from storage.repositories import MemoryRepository, TenantRepository
from storage.repositories.transfer import TransferRepository

OnConflict = Literal["error", "skip"]
EXPORT_BATCH = 500


def export_lines(state: AppState, *, tenant_id: uuid.UUID) -> Iterator[bytes]:
    """Every memory of the tenant, one line each, in id order.

    Each keyset batch is its own short transaction, so a long export never holds a lock:
    a memory written meanwhile may or may not appear, and none appears twice.
    """
    state.access.flush()  # export the access counts searches have recorded so far
    after: uuid.UUID | None = None
    while True:
        with state.sessions() as session:
            repo = TransferRepository(session)
            rows = repo.export_batch(tenant_id, after=after, limit=EXPORT_BATCH)
            links = repo.links_from([row.id for row in rows])
        if not rows:
            return
        yield b"".join(export_line(row, links.get(row.id, ())) for row in rows)
        after = rows[-1].id


def _row(state: AppState, item: MemoryExport) -> Memory:
    row = Memory(
        id=item.id,
        user_id=item.user_id,
        agent_id=item.agent_id,
        session_id=item.session_id,
        content=item.content,
        content_hash=content_hash(item.content),
        meta=item.metadata,
        occurred_at=item.occurred_at,
        created_at=item.created_at,
        updated_at=item.updated_at,
        importance=item.importance,
        pinned=item.pinned,
        access_count=item.access_count,
        last_accessed_at=item.last_accessed_at,
        strength=item.strength,
        stability=item.stability,
        tier=item.tier,
        superseded_by=item.superseded_by,
        embedding=None,
        embedding_bits=8,
        embedding_scale=1.0,
        embedding_model="",
        embedding_dim=0,
        version=item.version,
    )
    found = item.embedding
    if (
        found is not None
        and found.model == state.embedder.model_name
        and found.dim == state.embedder.dimension
    ):
        row.embedding, row.embedding_bits, row.embedding_scale = (
            found.payload(),
            found.bits,
            found.scale,
        )
        row.embedding_model, row.embedding_dim = found.model, found.dim
    return row


def _embed_missing(state: AppState, rows: Sequence[tuple[Memory, int]]) -> None:
    """Embed from text the rows whose stored code was for another model (or absent), at the
    precision they were stored at (else their tier's)."""
    if not rows:
        return
    vectors = state.embedder.embed([row.content for row, _ in rows])
    for (row, bits), vector in zip(rows, vectors, strict=True):
        code = encode(vector, bits)
        row.embedding, row.embedding_bits, row.embedding_scale = code.payload, code.bits, code.scale
        row.embedding_model, row.embedding_dim = state.embedder.model_name, state.embedder.dimension


def _columns(row: Memory) -> dict[str, Any]:
    table = Memory.__table__
    return {
        column.name: getattr(row, attr.key)
        for attr in Memory.__mapper__.column_attrs
        for column in attr.columns
        if column.table is table
    }


def import_memories(
    state: AppState,
    *,
    tenant_name: str,
    items: Sequence[tuple[int, MemoryExport]],
    on_conflict: OnConflict = "error",
    create_tenant: bool = False,
) -> ImportRead:
    """All or nothing. An id already stored is a ``Conflict`` naming its line, or skipped
    with ``on_conflict="skip"`` (so re-running an import is safe)."""
    with state.sessions() as session:
        existing = TransferRepository(session).existing_ids([item.id for _, item in items])
    if existing and on_conflict == "error":
        number, item = next((n, i) for n, i in items if i.id in existing)
        raise Conflict(
            f"Line {number}: memory {item.id} already exists.", line=number, id=str(item.id)
        )
    fresh = [item for _, item in items if item.id not in existing]
    with state.sessions() as session:
        known = TenantRepository(session).by_name(tenant_name)
    if known is None and not create_tenant:
        raise NotFound(f"No tenant named {tenant_name!r} (pass create_tenant=true).")
    rows = [_row(state, item) for item in fresh]
    _embed_missing(  # before the transaction: embedding is slow, a write lock is not free
        state,
        [
            (row, item.embedding.bits if item.embedding else TIER_BITS.get(item.tier, 8))
            for row, item in zip(rows, fresh, strict=True)
            if row.embedding is None
        ],
    )
    with unit_of_work(state.sessions) as session:
        tenants = TenantRepository(session)
        tenant = tenants.by_name(tenant_name) or tenants.add(tenant_name)
        for row in rows:
            row.tenant_id = tenant.id
        try:
            TransferRepository(session).insert_exact([_columns(row) for row in rows])
            TransferRepository(session).add_links(
                [
                    MemoryLink(
                        tenant_id=tenant.id,
                        memory_id=item.id,
                        other_id=link.other_id,
                        relation=link.relation,
                        detail=link.detail,
                        created_at=link.created_at,
                    )
                    for item in fresh
                    for link in item.links
                ]
            )
        except IntegrityError as exc:  # a concurrent import took an id first
            raise Conflict("A memory of this import was stored concurrently; retry.") from exc
        history = MemoryRepository(session)
        for row in rows:
            history.add_event(
                memory=row,
                event="created",
                changes={"content": row.content, "metadata": row.meta},
                actor="import",
            )
        tenant_id = tenant.id
    rows.sort(key=lambda r: (r.created_at, r.id))  # the order a rebuild from SQL would use
    state.indexes.apply(tenant_id, upserted=rows)
    return ImportRead(imported=len(rows), skipped=len(items) - len(rows))
