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
from service.principals import Binding
from service.schemas import MemoryCreate, MemoryUpdate
from service.state import AppState
from storage.db import is_write_conflict, unit_of_work
from storage.errors import Conflict, InvalidInput, NotFound
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
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, items: Sequence[MemoryCreate]
) -> list[Memory]:
    """Embed, then store all items atomically; nothing is stored if anything fails.

    A bound key's scope fills the items' ``user_id`` / ``agent_id``; an item naming
    another scope refuses the whole batch (``Forbidden``) before anything is embedded."""
    if binding.bound:
        items = [_bind(item, binding) for item in items]
    codes = _embed(state, [item.content for item in items])
    now = utcnow()
    model, dimension = state.embedder.model_name, state.embedder.dimension
    rows: list[Memory] = []
    for i, (item, (payload, scale)) in enumerate(zip(items, codes, strict=True)):
        # one microsecond apart: (created_at, id) order is the batch's order, so a rebuild
        # from SQL places same-time turns of a conversation exactly as they were sent
        created = now + timedelta(microseconds=i)
        rows.append(
            Memory(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                user_id=item.user_id,
                agent_id=item.agent_id,
                session_id=item.session_id,
                content=item.content,
                content_hash=content_hash(item.content),
                meta=item.metadata,
                occurred_at=item.occurred_at or now,
                created_at=created,
                updated_at=created,
                importance=item.importance,
                pinned=item.pinned,
                access_count=0,
                last_accessed_at=None,
                strength=1.0,
                stability=1.0,
                tier="hot",
                embedding=payload,
                embedding_bits=8,
                embedding_scale=scale,
                embedding_model=model,
                embedding_dim=dimension,
                version=1,
                superseded_by=None,
            )
        )
    with unit_of_work(state.sessions) as session:
        MemoryRepository(session).insert_created(rows)
    state.indexes.apply(tenant_id, upserted=rows)
    return rows


def _bind(item: MemoryCreate, binding: Binding) -> MemoryCreate:
    user_id, agent_id = binding.narrow(item.user_id, item.agent_id)
    return item.model_copy(update={"user_id": user_id, "agent_id": agent_id})


def get_memory(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> Memory:
    with state.sessions() as session:
        row = _visible(
            MemoryRepository(session).get(tenant_id=tenant_id, memory_id=memory_id), binding
        )
    if row is None:
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
    fields = patch.model_dump(exclude_unset=True, exclude={"version"})
    restored: list[Memory] = []
    removed: list[uuid.UUID] = []
    if any(fields.get(name) is None for name in fields):
        raise InvalidInput("Fields may be omitted but not set to null.")
    code = _embed(state, [patch.content])[0] if patch.content is not None else None
    try:
        with unit_of_work(state.sessions) as session:
            repo = MemoryRepository(session)
            row = _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding)
            if row is None:
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
            if not changes:
                return row
            if code is not None and "content" in changes:
                _set_embedding(state, row, *code)
                row.content_hash = content_hash(row.content)
                if row.tier != "hot":
                    changes["tier"] = {"from": row.tier, "to": "hot"}
                    row.tier = "hot"
            row.updated_at = utcnow()
            session.flush()
            repo.add_event(memory=row, event="updated", changes=changes)
    except StaleDataError as exc:
        raise Conflict(f"Memory {memory_id} was changed concurrently; retry.") from exc
    if removed:  # a consolidated memory holding the old text was deleted
        state.erasure.erased()
    state.indexes.apply(tenant_id, upserted=[*restored, row], deleted=removed)
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
                undone = dissolve(session, row, keep_row=False)  # its sources come back
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
    state.indexes.apply(tenant_id, upserted=undone.restored, deleted=[*undone.removed, memory_id])


def history(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, memory_id: uuid.UUID
) -> list[MemoryEvent]:
    """The memory's events. A bound key needs the memory itself within its binding: history
    rows carry no scope, so a deleted memory's tombstone is out of its reach."""
    with state.sessions() as session:
        repo = MemoryRepository(session)
        if (
            binding.bound
            and _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding) is None
        ):
            raise NotFound(f"No memory {memory_id}.")
        events = repo.history(tenant_id=tenant_id, memory_id=memory_id)
    if not events:
        raise NotFound(f"No memory {memory_id}.")
    return events


def list_memories(
    state: AppState, *, tenant_id: uuid.UUID, flt: MemoryFilter, limit: int, cursor: str | None
) -> tuple[list[Memory], str | None]:
    after = decode_cursor(cursor) if cursor else None
    with state.sessions() as session:
        rows = MemoryRepository(session).page(
            tenant_id=tenant_id, flt=flt, limit=limit + 1, after=after
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
        if _visible(repo.get(tenant_id=tenant_id, memory_id=memory_id), binding) is None:
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
