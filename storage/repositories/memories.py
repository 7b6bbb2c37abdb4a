from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.factory import as_columns
from storage.models import Memory, MemoryEvent
from storage.records import MemoryFilter, PageCursor
from storage.types import json_scalar_equals, utcnow


def live_at(now: datetime) -> ColumnElement[bool]:
    """Not expired at ``now``: no expiry, or one still ahead."""
    return or_(Memory.expires_at.is_(None), Memory.expires_at > now)


def filter_clauses(tenant_id: uuid.UUID, flt: MemoryFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Memory.tenant_id == tenant_id]
    if flt.user_id is not None:
        clauses.append(Memory.user_id == flt.user_id)
    if flt.agent_id is not None:
        clauses.append(Memory.agent_id == flt.agent_id)
    if flt.session_id is not None:
        clauses.append(Memory.session_id == flt.session_id)
    for key, value in flt.metadata.items():
        clauses.append(json_scalar_equals.of(Memory.meta, key, value))
    if flt.occurred_after is not None:
        clauses.append(Memory.occurred_at >= flt.occurred_after)
    if flt.occurred_before is not None:
        clauses.append(Memory.occurred_at < flt.occurred_before)
    if not flt.include_superseded:
        clauses.append(Memory.replaced_by.is_(None))
    return clauses


INDEX_COLUMNS = (
    Memory.id,
    Memory.tenant_id,
    Memory.version,
    Memory.superseded_by,
    Memory.replaced_by,
    Memory.created_at,
    Memory.superseded_at,
    Memory.valid_until,
    Memory.content,
    Memory.occurred_at,
    Memory.user_id,
    Memory.agent_id,
    Memory.session_id,
    Memory.meta,
    Memory.tier,
    Memory.embedding,
    Memory.embedding_bits,
    Memory.embedding_scale,
    Memory.embedding_dim,
    Memory.expires_at,
)
"""The columns a retrieval engine indexes (rows keep these attribute names)."""
PLACEMENT_COLUMNS = (
    Memory.id,
    Memory.version,
    Memory.replaced_by,
    Memory.created_at,
    Memory.superseded_at,
    Memory.valid_until,
    Memory.occurred_at,
    Memory.user_id,
    Memory.agent_id,
    Memory.session_id,
    Memory.meta,
    Memory.expires_at,
)


class MemoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, memories: Sequence[Memory]) -> None:
        self.session.add_all(memories)
        self.session.flush()

    def insert_created(self, memories: Sequence[Memory], *, actor: str = "api") -> None:
        """Store new memories and their ``created`` history events by two executemany
        inserts, the rows as given (``version`` included; every column set).

        For batches: the ORM unit of work (identity map, per-object flush bookkeeping)
        costs more per row than the SQL. The objects stay transient (in no session).
        """
        if not memories:
            return
        now = utcnow()
        self.session.execute(
            insert(cast(Table, Memory.__table__)),
            [as_columns(row) for row in memories],
        )
        self.session.execute(
            insert(cast(Table, MemoryEvent.__table__)),
            [
                {
                    "tenant_id": row.tenant_id,
                    "memory_id": row.id,
                    "event": "created",
                    "version": row.version,
                    "changes": {"content": row.content, "metadata": row.meta},
                    "actor": actor,
                    "created_at": now,
                }
                for row in memories
            ],
        )

    def get(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> Memory | None:
        return self.session.scalar(
            select(Memory).where(Memory.tenant_id == tenant_id, Memory.id == memory_id)
        )

    def get_many(
        self, *, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Memory]:
        # By primary key only, the tenant checked on the rows: with `tenant_id = ? AND id IN`
        # SQLite's planner may walk the whole tenant through a tenant index instead.
        if not ids:
            return {}
        rows = self.session.scalars(select(Memory).where(Memory.id.in_(list(ids))))
        return {row.id: row for row in rows if row.tenant_id == tenant_id}

    def index_rows(self, *, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
        """What the retrieval engine indexes of these memories (by primary key, no ORM)."""
        if not ids:
            return []
        stmt = select(*INDEX_COLUMNS).where(Memory.id.in_(list(ids)))
        return [row for row in self.session.execute(stmt) if row.tenant_id == tenant_id]

    def iter_placements(self, tenant_id: uuid.UUID, *, batch: int = 8192) -> Iterator[Row[Any]]:
        """Id, version, scope, time and metadata of the tenant's searchable memories, in
        insertion order: how a rebuilt engine hands out its keys."""
        stmt = (
            select(*PLACEMENT_COLUMNS)
            .where(Memory.tenant_id == tenant_id, Memory.superseded_by.is_(None))
            .order_by(Memory.created_at, Memory.id)
            .execution_options(yield_per=batch, stream_results=True)
        )
        yield from self.session.execute(stmt)

    def iter_index_rows(self, tenant_id: uuid.UUID, *, batch: int = 4096) -> Iterator[Row[Any]]:
        """The tenant's searchable memories (consolidated sources excluded) in conversation
        order - scope, then time, then insertion - streamed without ORM objects."""
        stmt = (
            select(*INDEX_COLUMNS)
            .where(Memory.tenant_id == tenant_id, Memory.superseded_by.is_(None))
            .order_by(
                Memory.user_id,
                Memory.agent_id,
                Memory.session_id,
                Memory.occurred_at,
                Memory.created_at,
                Memory.id,
            )
            .execution_options(yield_per=batch, stream_results=True)
        )
        yield from self.session.execute(stmt)

    def page(
        self,
        *,
        tenant_id: uuid.UUID,
        flt: MemoryFilter,
        limit: int,
        after: PageCursor | None,
        now: datetime | None = None,
    ) -> list[Memory]:
        """A page in ``(created_at, id)`` order; with ``now``, memories expired by then are
        left out."""
        stmt = select(Memory).where(*filter_clauses(tenant_id, flt))
        if now is not None:
            stmt = stmt.where(live_at(now))
        if after is not None:
            stmt = stmt.where(
                or_(
                    Memory.created_at > after.created_at,
                    and_(Memory.created_at == after.created_at, Memory.id > after.id),
                )
            )
        stmt = stmt.order_by(Memory.created_at, Memory.id).limit(limit)
        return list(self.session.scalars(stmt))

    def iter_tenant(self, tenant_id: uuid.UUID, *, batch: int = 2000) -> Iterator[Memory]:
        stmt = (
            select(Memory)
            .where(Memory.tenant_id == tenant_id)
            .order_by(Memory.created_at, Memory.id)
            .execution_options(yield_per=batch)
        )
        yield from self.session.scalars(stmt)

    def expired(self, tenant_id: uuid.UUID, *, now: datetime, limit: int) -> list[Memory]:
        """Up to ``limit`` of the tenant's memories whose expiry has passed at ``now``."""
        stmt = (
            select(Memory)
            .where(
                Memory.tenant_id == tenant_id,
                Memory.expires_at.is_not(None),
                Memory.expires_at <= now,
            )
            .order_by(Memory.expires_at, Memory.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def count_expired(self, tenant_id: uuid.UUID, *, now: datetime) -> int:
        stmt = select(func.count()).where(
            Memory.tenant_id == tenant_id,
            Memory.expires_at.is_not(None),
            Memory.expires_at <= now,
        )
        return int(self.session.scalar(stmt) or 0)

    def lock(self, *, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
        """Take these rows' write locks now, in id order (PostgreSQL; SQLite has one writer
        at a time). Writers that change several memories lock them in this one order, so
        no two can deadlock; a single row needs no ordering."""
        wanted = sorted(set(ids))
        if len(wanted) < 2:
            return
        self.session.execute(
            select(Memory.id)
            .where(Memory.tenant_id == tenant_id, Memory.id.in_(wanted))
            .order_by(Memory.id)
            .with_for_update()
        ).all()

    def delete(self, memory: Memory) -> None:
        self.session.delete(memory)
        self.session.flush()

    def delete_tenant(self, tenant_id: uuid.UUID) -> int:
        result = self.session.execute(delete(Memory).where(Memory.tenant_id == tenant_id))
        return int(getattr(result, "rowcount", 0) or 0)

    def count_by_tenant_and_tier(self) -> list[tuple[uuid.UUID, str, int, int]]:
        """(tenant_id, tier, memories, embedding bytes) for the admin overview."""
        stmt = select(
            Memory.tenant_id,
            Memory.tier,
            func.count(),
            func.coalesce(func.sum(func.length(Memory.embedding)), 0),
        ).group_by(Memory.tenant_id, Memory.tier)
        return [(t, tier, int(n), int(b)) for t, tier, n, b in self.session.execute(stmt)]

    def record_access(
        self, *, tenant_id: uuid.UUID, counts: dict[uuid.UUID, int], at: datetime
    ) -> None:
        """Add retrieval counts without touching ``version`` (access is not an edit).
        Rows are locked in id order, the order every other multi-row writer (the lifecycle's
        batches) takes, so two of them cannot deadlock on PostgreSQL."""
        for memory_id, n in sorted(counts.items()):
            self.session.execute(
                update(Memory)
                .where(Memory.tenant_id == tenant_id, Memory.id == memory_id)
                .values(access_count=Memory.access_count + n, last_accessed_at=at)
                .execution_options(synchronize_session=False)
            )

    def codes(
        self, ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, int, float, bytes | None, int]]:
        """(id, bits, scale, payload, dimension) of stored embeddings, for re-scoring."""
        if not ids:
            return []
        stmt = select(
            Memory.id,
            Memory.embedding_bits,
            Memory.embedding_scale,
            Memory.embedding,
            Memory.embedding_dim,
        ).where(Memory.id.in_(list(ids)))
        return [(i, b, s, p, d) for i, b, s, p, d in self.session.execute(stmt)]

    def set_strengths(self, values: Sequence[tuple[uuid.UUID, float, float]]) -> None:
        """(id, strength, stability) for many rows at once; not an edit, so no version bump."""
        table = cast(Table, Memory.__table__)
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(strength=bindparam("new_strength"), stability=bindparam("new_stability")),
            # in id order, like every multi-row writer (no lock-order deadlock)
            [{"key": i, "new_strength": s, "new_stability": st} for i, s, st in sorted(values)],
        )

    # history

    def add_event(
        self,
        *,
        memory: Memory,
        event: str,
        changes: dict[str, Any],
        actor: str = "api",
    ) -> None:
        self.session.add(
            MemoryEvent(
                tenant_id=memory.tenant_id,
                memory_id=memory.id,
                event=event,
                version=memory.version,
                changes=changes,
                actor=actor,
            )
        )

    def scrub_history(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> None:
        """Forget what a deleted memory said: its events keep their kind and time, not content."""
        self.session.execute(
            update(MemoryEvent)
            .where(MemoryEvent.tenant_id == tenant_id, MemoryEvent.memory_id == memory_id)
            .values(changes={})
            .execution_options(synchronize_session=False)
        )

    def updates_after(
        self, *, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], after: datetime
    ) -> list[MemoryEvent]:
        """The ``updated`` events of these memories recorded after ``after``, oldest first."""
        if not ids:
            return []
        stmt = (
            select(MemoryEvent)
            .where(
                MemoryEvent.tenant_id == tenant_id,
                MemoryEvent.memory_id.in_(list(ids)),
                MemoryEvent.event == "updated",
                MemoryEvent.created_at > after,
            )
            .order_by(MemoryEvent.id)
        )
        return list(self.session.scalars(stmt))

    def history(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> list[MemoryEvent]:
        stmt = (
            select(MemoryEvent)
            .where(MemoryEvent.tenant_id == tenant_id, MemoryEvent.memory_id == memory_id)
            .order_by(MemoryEvent.id)
        )
        return list(self.session.scalars(stmt))
