"""Memory use cases: one unit of work each, committed here, indexes updated after commit."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from lifecycle.merge import dissolve
from lifecycle.supersession import release
from service.memories import supersession
from service.memories.prepare import expiry, is_expired, prepare_create, write_policy
from service.metrics import record_secrets
from service.principals import Binding
from service.privacy.screen import SecretRejected, screen
from service.schemas import MemoryCreate, MemoryUpdate
from service.state import AppState
from storage.db import is_write_conflict, unit_of_work
from storage.errors import Conflict, InvalidInput, NotFound
from storage.factory import StoredEmbedding, new_memory
from storage.models import Memory, MemoryEvent, MemoryLink
from storage.quantization import encode
from storage.records import MemoryFilter, PageCursor, content_hash
from storage.repositories import LinkRepository, MemoryRepository
from storage.types import utcnow


def _embed(state: AppState, texts: Sequence[str]) -> list[tuple[bytes, float]]:
    vectors = state.embedder.embed(list(texts))
    codes = [encode(v, 8) for v in vectors]
    return [(c.payload, c.scale) for c in codes]


def _set_embedding(state: AppState, row: Memory, payload: bytes, scale: float) -> None:
    row.embedding = payload
    row.embedding_scale = scale
    row.embedding_bits = 8
    row.embedding_model = state.embedder.model_name
    row.embedding_dim = state.embedder.dimension


def _visible(row: Memory | None, binding: Binding) -> Memory | None:
    """The row if the key can reach it: outside its binding is the same as absent."""
    return row if row is not None and binding.admits(row.user_id, row.agent_id) else None


def add_memories(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    items: Sequence[MemoryCreate],
    numbered: bool = False,
) -> list[Memory]:
    """Screen (the tenant's secrets / PII policy), embed, then store all items atomically;
    nothing is stored if anything fails. ``numbered``: a rejection names ``memories.<i>.``.

    A bound key's scope fills the items' ``user_id`` / ``agent_id``; an item naming
    another scope refuses the whole batch (``Forbidden``) before anything is embedded."""
    if binding.bound:
        items = [_bind(item, binding) for item in items]
    policy = write_policy(state, tenant_id)
    clock = state.clock()
    try:
        prepared = [
            prepare_create(policy, item, now=clock, where=f"memories.{i}." if numbered else "")
            for i, item in enumerate(items)
        ]
    except SecretRejected as exc:
        record_secrets(state.metrics, [str(exc.extra["kind"])], action="rejected")
        raise
    record_secrets(state.metrics, [k for p in prepared for k in p.redacted], action="redacted")
    codes = _embed(state, [p.content for p in prepared])
    now = utcnow()
    model, dimension = state.embedder.model_name, state.embedder.dimension
    rows: list[Memory] = []
    for i, (item, ready, (payload, scale)) in enumerate(zip(items, prepared, codes, strict=True)):
        # one microsecond apart: (created_at, id) order is the batch's order, so a rebuild
        # from SQL places same-time turns of a conversation exactly as they were sent
        created = now + timedelta(microseconds=i)
        rows.append(
            new_memory(
                tenant_id=tenant_id,
                content=ready.content,
                created_at=created,
                embedding=StoredEmbedding(payload, 8, scale, model, dimension),
                user_id=item.user_id,
                agent_id=item.agent_id,
                session_id=item.session_id,
                metadata=ready.metadata,
                occurred_at=item.occurred_at or now,
                importance=item.importance,
                pinned=item.pinned,
                expires_at=ready.expires_at,
            )
        )
    try:
        touched = _store(state, tenant_id=tenant_id, binding=binding, rows=rows, items=items)
    except StaleDataError as exc:  # a memory it supersedes was changed concurrently
        raise Conflict("A memory this write supersedes was changed concurrently; retry.") from exc
    changed = supersession.newest([*rows, *touched])
    state.indexes.apply(tenant_id, upserted=changed)
    latest = {row.id: row for row in changed}
    return [latest[row.id] for row in rows]


def _store(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    rows: list[Memory],
    items: Sequence[MemoryCreate],
) -> list[Memory]:
    """One transaction: the rows, their explicit supersessions, then detection. Returns the
    memories whose supersession changed."""
    with unit_of_work(state.sessions) as session:
        olds = supersession.targets(
            session,
            tenant_id=tenant_id,
            binding=binding,
            ids=[i for item in items for i in item.supersedes],
        )
        MemoryRepository(session).insert_created(rows)
        touched: list[Memory] = []
        for row, item in zip(rows, items, strict=True):
            touched += supersession.record(
                session, new=row, olds=[olds[i] for i in dict.fromkeys(item.supersedes)]
            )
        touched += supersession.detect(session, rows, tenant_id=tenant_id, fresh=True)
    return touched


def _bind(item: MemoryCreate, binding: Binding) -> MemoryCreate:
    user_id, agent_id = binding.narrow(item.user_id, item.agent_id)
    return item.model_copy(update={"user_id": user_id, "agent_id": agent_id})


def get_memory(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> Memory:
    """An expired memory is gone for reads (404) from its expiry on, before the lifecycle
    erases it; so is one outside the key's binding."""
    with state.sessions() as session:
        row = _visible(
            MemoryRepository(session).get(tenant_id=tenant_id, memory_id=memory_id), binding
        )
    if row is None or is_expired(row, state.clock()):
        raise NotFound(f"No memory {memory_id}.")
    return row


def update_memory(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    memory_id: uuid.UUID,
    patch: MemoryUpdate,
) -> Memory:
    fields = patch.model_dump(exclude_unset=True, exclude={"version", "ttl_seconds", "supersedes"})
    supersedes = patch.supersedes or []
    restored: list[Memory] = []
    removed: list[uuid.UUID] = []
    if any(fields.get(name) is None for name in fields if name != "expires_at"):
        raise InvalidInput("Fields may be omitted but not set to null.")
    clock = state.clock()
    if "expires_at" in fields or patch.ttl_seconds is not None:
        fields["expires_at"] = expiry(
            expires_at=patch.expires_at, ttl_seconds=patch.ttl_seconds, now=clock, where=""
        )
    if "content" in fields or "metadata" in fields:
        try:
            screened = screen(
                write_policy(state, tenant_id),
                content=fields.get("content"),
                metadata=fields.get("metadata"),
            )
        except SecretRejected as exc:
            record_secrets(state.metrics, [str(exc.extra["kind"])], action="rejected")
            raise
        record_secrets(state.metrics, screened.kinds, action="redacted")
        if "content" in fields:
            fields["content"] = screened.content
        if "metadata" in fields:
            fields["metadata"] = screened.metadata
    content = fields.get("content")
    code = _embed(state, [content])[0] if content is not None else None
    try:
        with unit_of_work(state.sessions) as session:
            repo = MemoryRepository(session)
            row = _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding)
            if row is None or is_expired(row, clock):
                raise NotFound(f"No memory {memory_id}.")
            if patch.version is not None and patch.version != row.version:
                raise Conflict(
                    f"Memory {memory_id} is at version {row.version}, not {patch.version}.",
                    current_version=row.version,
                )
            if "content" in fields and fields["content"] != row.content:
                # the old text may live on in a consolidated memory: undo that first
                undone = dissolve(session, row, keep_row=True)
                restored, removed = undone.restored, undone.removed
            changes: dict[str, Any] = {}
            for name, value in fields.items():
                attr = "meta" if name == "metadata" else name
                old = getattr(row, attr)
                if old != value:
                    changes[name] = {"from": _jsonable(old), "to": _jsonable(value)}
                    setattr(row, attr, value)
            olds = supersession.targets(
                session, tenant_id=tenant_id, binding=binding, ids=supersedes, memory_id=memory_id
            )
            if not changes and not olds:
                return row
            if code is not None and "content" in changes:
                _set_embedding(state, row, *code)
                row.content_hash = content_hash(row.content)
                if row.tier != "hot":
                    changes["tier"] = {"from": row.tier, "to": "hot"}
                    row.tier = "hot"
            if changes:
                row.updated_at = utcnow()
                session.flush()
                repo.add_event(memory=row, event="updated", changes=changes)
            touched = supersession.record(session, new=row, olds=list(olds.values()))
            if "occurred_at" in changes:  # it ends the valid time of what it replaced
                touched += supersession.resettle_replaced(session, row)
            if "content" in changes:
                touched += supersession.detect(session, [row], tenant_id=tenant_id, fresh=False)
    except StaleDataError as exc:
        raise Conflict(f"Memory {memory_id} was changed concurrently; retry.") from exc
    if removed:  # a consolidated memory holding the old text was deleted
        state.erasure.erased()
    state.indexes.apply(
        tenant_id, upserted=supersession.newest([*restored, row, *touched]), deleted=removed
    )
    return row


DELETE_ATTEMPTS = 3


def delete_memory(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> None:
    """Remove the row (content and embedding), scrub content from its history, leave a tombstone.

    A delete that races with another writer of the same rows (the lifecycle changed the
    memory since it was read, or PostgreSQL chose it as a deadlock's victim) is tried again:
    the client asked for the memory to be gone, not for a particular version to be."""
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        try:
            with unit_of_work(state.sessions) as session:
                repo = MemoryRepository(session)
                row = _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding)
                if row is None:
                    raise NotFound(f"No memory {memory_id}.")
                # what it replaced is current again; sources of a consolidation come back
                released = release(session, row, actor="api")
                undone = dissolve(session, row, keep_row=False)
                repo.scrub_history(tenant_id=tenant_id, memory_id=memory_id)
                repo.add_event(memory=row, event="deleted", changes={})
                repo.delete(row)
            break
        except Exception as exc:
            if not is_write_conflict(exc):
                raise
            if attempt == DELETE_ATTEMPTS:
                raise Conflict(f"Memory {memory_id} is being changed; retry.") from exc
    state.erasure.erased()
    state.indexes.apply(
        tenant_id,
        upserted=supersession.newest([*undone.restored, *released]),
        deleted=[*undone.removed, memory_id],
    )


def history(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> list[MemoryEvent]:
    """The memory's events; an expired memory's without their content, as if already
    erased. A bound key needs the memory itself within its binding: history rows carry no
    scope, so a deleted memory's tombstone is out of its reach."""
    with state.sessions() as session:
        repo = MemoryRepository(session)
        row = repo.get(tenant_id=tenant_id, memory_id=memory_id)
        if binding.bound and _visible(row, binding) is None:
            raise NotFound(f"No memory {memory_id}.")
        events = repo.history(tenant_id=tenant_id, memory_id=memory_id)
        gone = row is not None and is_expired(row, state.clock())
    if not events:
        raise NotFound(f"No memory {memory_id}.")
    if gone:  # detached copies: never written back
        for event in events:
            event.changes = {}
    return events


def list_memories(
    state: AppState, *, tenant_id: uuid.UUID, flt: MemoryFilter, limit: int, cursor: str | None
) -> tuple[list[Memory], str | None]:
    after = decode_cursor(cursor) if cursor else None
    with state.sessions() as session:
        rows = MemoryRepository(session).page(
            tenant_id=tenant_id, flt=flt, limit=limit + 1, after=after, now=state.clock()
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(PageCursor(rows[-1].created_at, rows[-1].id)) if more else None
    return rows, next_cursor


def encode_cursor(cursor: PageCursor) -> str:
    raw = json.dumps([cursor.created_at.isoformat(), str(cursor.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> PageCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, memory_id = json.loads(raw)
        created = datetime.fromisoformat(created_at)
        if created.tzinfo is not None:
            created = created.astimezone(UTC)  # OverflowError for a forged far-off offset
        return PageCursor(created, uuid.UUID(memory_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidInput("The cursor is not one this server issued.", field="cursor") from exc


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def links(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> list[MemoryLink]:
    """Consolidation and contradiction links from or to a memory, newest first; for a bound
    key, only links whose other end is within its binding too."""
    with state.sessions() as session:
        repo = MemoryRepository(session)
        row = _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding)
        if row is None or is_expired(row, state.clock()):
            raise NotFound(f"No memory {memory_id}.")
        found = LinkRepository(session).for_memory(tenant_id=tenant_id, memory_id=memory_id)
        if not binding.bound:
            return found
        ends = {link.memory_id if link.other_id == memory_id else link.other_id for link in found}
        reachable = {
            i
            for i, row in repo.get_many(tenant_id=tenant_id, ids=list(ends)).items()
            if _visible(row, binding) is not None
        }
        return [
            link
            for link in found
            if (link.memory_id if link.other_id == memory_id else link.other_id) in reachable
        ]
