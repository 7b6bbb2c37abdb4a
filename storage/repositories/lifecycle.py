"""Lifecycle runs and the links the job writes between memories (consolidation, contradiction)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import LifecycleRun, Memory, MemoryLink, Tenant
from storage.types import utcnow

Position = tuple[uuid.UUID, uuid.UUID]
"""(tenant id, memory id): where a lifecycle pass over every tenant is."""


class LifecycleScanRepository:
    """The reads a lifecycle run makes: tenants with their policies, memories in batches."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tenants(self, *, name: str | None = None) -> list[Tenant]:
        stmt = select(Tenant).order_by(Tenant.id)
        if name is not None:
            stmt = stmt.where(Tenant.name == name)
        return list(self.session.scalars(stmt))

    def batch(
        self,
        tenants: Sequence[uuid.UUID],
        *,
        after: Position | None,
        until: Position | None,
        size: int,
    ) -> list[Memory]:
        """Up to ``size`` memories in ``(tenant_id, id)`` order, in ``(after, until]``, that
        stand for themselves (neither consolidated into another nor replaced)."""
        key = tuple_(Memory.tenant_id, Memory.id)
        stmt = select(Memory).where(Memory.tenant_id.in_(list(tenants)), *_current())
        if after is not None:
            stmt = stmt.where(key > tuple_(*after))
        if until is not None:
            stmt = stmt.where(key <= tuple_(*until))
        # locked up front, in id order (PostgreSQL; SQLite has one writer at a time): the batch
        # later updates some rows one by one and the rest together, which in two passes would
        # take the locks out of order and could deadlock with another id-ordered writer
        stmt = stmt.order_by(Memory.tenant_id, Memory.id).limit(size).with_for_update()
        return list(self.session.scalars(stmt))

    def active(self, tenant_id: uuid.UUID, *, include_pinned: bool) -> list[Memory]:
        """A tenant's current memories by scope (user, agent), then creation order; none due
        to expire (one is never merged into a lasting memory)."""
        stmt = select(Memory).where(
            Memory.tenant_id == tenant_id, *_current(), Memory.expires_at.is_(None)
        )
        if not include_pinned:
            stmt = stmt.where(Memory.pinned.is_(False))
        stmt = stmt.order_by(Memory.user_id, Memory.agent_id, Memory.created_at, Memory.id)
        return list(self.session.scalars(stmt))


def _current() -> list[ColumnElement[bool]]:
    """Neither consolidated into another memory nor replaced by a newer one."""
    return [Memory.superseded_by.is_(None), Memory.replaced_by.is_(None)]


class LifecycleRunRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, run: LifecycleRun) -> LifecycleRun:
        self.session.add(run)
        self.session.flush()
        return run

    def get(self, run_id: uuid.UUID) -> LifecycleRun | None:
        return self.session.get(LifecycleRun, run_id)

    def recent(self, *, limit: int = 50, tenant: str | None = None) -> list[LifecycleRun]:
        stmt = select(LifecycleRun).order_by(LifecycleRun.started_at.desc(), LifecycleRun.id)
        if tenant is not None:
            stmt = stmt.where(LifecycleRun.tenant == tenant)
        return list(self.session.scalars(stmt.limit(limit)))

    def interrupt_running(self) -> list[LifecycleRun]:
        """Runs still marked running when the lock is free: their runner died. Mark them."""
        stale = list(
            self.session.scalars(select(LifecycleRun).where(LifecycleRun.status == "running"))
        )
        for run in stale:
            run.status, run.finished_at = "interrupted", utcnow()
            run.error = run.error or "the runner stopped before finishing (crash or kill)"
        self.session.flush()
        return stale

    def resumable(self, *, tenant: str | None) -> LifecycleRun | None:
        """The latest interrupted, non-dry run over the same tenants that got somewhere."""
        stmt = (
            select(LifecycleRun)
            .where(
                LifecycleRun.status == "interrupted",
                LifecycleRun.dry_run.is_(False),
                LifecycleRun.cursor.is_not(None),
                LifecycleRun.tenant.is_(None) if tenant is None else LifecycleRun.tenant == tenant,
            )
            .order_by(LifecycleRun.started_at.desc())
        )
        return self.session.scalars(stmt.limit(1)).first()

    def progress(self, run_id: uuid.UUID, *, cursor: str | None, report: dict[str, Any]) -> None:
        self.session.execute(
            update(LifecycleRun)
            .where(LifecycleRun.id == run_id)
            .values(cursor=cursor, report=report, heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )


class LinkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def existing(
        self, *, relation: str, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        if not pairs:
            return set()
        sources = {a for a, _ in pairs}
        rows = self.session.execute(
            select(MemoryLink.memory_id, MemoryLink.other_id).where(
                MemoryLink.relation == relation, MemoryLink.memory_id.in_(sources)
            )
        )
        return {(a, b) for a, b in rows}

    def add(
        self,
        *,
        tenant_id: uuid.UUID,
        memory_id: uuid.UUID,
        other_id: uuid.UUID,
        relation: str,
        detail: dict[str, Any],
    ) -> None:
        self.session.add(
            MemoryLink(
                tenant_id=tenant_id,
                memory_id=memory_id,
                other_id=other_id,
                relation=relation,
                detail=detail,
            )
        )

    def for_memory(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> list[MemoryLink]:
        """Links from or to one memory, newest first."""
        stmt = (
            select(MemoryLink)
            .where(
                MemoryLink.tenant_id == tenant_id,
                or_(MemoryLink.memory_id == memory_id, MemoryLink.other_id == memory_id),
            )
            .order_by(MemoryLink.created_at.desc(), MemoryLink.id.desc())
        )
        return list(self.session.scalars(stmt))

    def contradictions_touching(
        self, *, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """``(newer, older)`` for every ``contradicts`` link with either end in ``ids``."""
        if not ids:
            return []
        wanted = list(ids)
        stmt = select(MemoryLink.memory_id, MemoryLink.other_id).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.relation == "contradicts",
            or_(MemoryLink.memory_id.in_(wanted), MemoryLink.other_id.in_(wanted)),
        )
        return [(newer, older) for newer, older in self.session.execute(stmt)]

    def sources_of(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(MemoryLink.other_id).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.memory_id == memory_id,
            MemoryLink.relation == "consolidates",
        )
        return list(self.session.scalars(stmt.order_by(MemoryLink.id)))

    def remove_for(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> None:
        """Consolidation and contradiction links from or to a memory (supersession links are
        released by ``lifecycle.supersession.release``, which restores what they replaced)."""
        self.session.execute(
            delete(MemoryLink).where(
                MemoryLink.tenant_id == tenant_id,
                MemoryLink.relation.in_(("consolidates", "contradicts")),
                or_(MemoryLink.memory_id == memory_id, MemoryLink.other_id == memory_id),
            )
        )
