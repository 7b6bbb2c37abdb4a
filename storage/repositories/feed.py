"""The change feed: which ``memory_event`` rows a follower has not handled yet, exactly.

Why not "every id above the highest id seen": on PostgreSQL an event's id is drawn from a
sequence when the row is inserted, but becomes visible when its transaction commits, and
transactions commit in any order. A follower that reads past id 11 while the transaction
holding id 10 is still open skips id 10 for ever.

The cursor here is a PostgreSQL snapshot instead. Every event records the transaction that
wrote it (``xact_id`` = ``pg_current_xact_id()``). A snapshot (``pg_current_snapshot()``,
printed ``xmin:xmax:xip,...``) splits transactions in two: *finished* ones, with
``xact_id < xmax`` and not in the in-progress list ``xip`` (each either committed, and then
visible in that snapshot and every later one, or rolled back); and *unfinished* ones, the rest.
One statement reads both the current snapshot ``S`` and every visible event of a transaction
unfinished at the cursor's snapshot ``C``::

    xact_id >= C.xmax  OR  xact_id IN C.xip

Those are exactly the events visible in ``S`` and not in ``C``: nothing read before, nothing
skipped. The cursor then becomes ``S``. By induction every event visible in the cursor's
snapshot has been handled, so each committed event is handled by the first read that starts
after its commit, once. The cost is the new events plus one index probe per transaction in
flight (``xip``), whatever a long-open transaction does to the horizon.

SQLite has one writer at a time (every transaction begins ``IMMEDIATE``), so ids are assigned
in commit order and "every id above the last one handled" is exact there; ``xact_id`` is NULL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from storage.models import MemoryEvent


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """What a follower needs of an event (not its ``changes``: rows are read from SQL)."""

    id: int
    xact_id: int | None
    tenant_id: uuid.UUID
    memory_id: uuid.UUID
    event: str
    version: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL snapshot: which transactions had finished when it was taken."""

    xmin: int
    xmax: int
    xip: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        """``pg_current_snapshot()::text``, e.g. ``"10:20:10,14,15"``."""
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def finished(self, xact_id: int) -> bool:
        """Whether that transaction had committed or rolled back: its events, if any, are
        visible in this snapshot (and every later one), or never will be."""
        return xact_id < self.xmax and xact_id not in self.xip


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """A follower's position: every event visible at ``snapshot`` (PostgreSQL), or every
    event up to ``after_id`` (SQLite, ids in commit order), has been handled. On PostgreSQL
    before the first read there is no snapshot, and the whole feed is new."""

    after_id: int = 0
    """The highest event id handled (the position itself on SQLite; informational on PG)."""
    snapshot: Snapshot | None = None

    def wants(self, event: FeedEvent) -> bool:
        """Whether ``event`` (visible now) is new to this cursor: the predicate
        ``FeedRepository.read`` evaluates in SQL."""
        if self.snapshot is None:
            return event.id > self.after_id
        return event.xact_id is not None and not self.snapshot.finished(event.xact_id)

    def advance(self, snapshot: Snapshot | None, events: Iterable[FeedEvent]) -> FeedCursor:
        """The cursor once a read's ``events`` are handled; ``snapshot`` is the read's own
        (None on SQLite)."""
        last = max((event.id for event in events), default=self.after_id)
        return FeedCursor(after_id=max(last, self.after_id), snapshot=snapshot)


def _event(row: Any) -> FeedEvent:
    return FeedEvent(row.id, row.xact_id, row.tenant_id, row.memory_id, row.event, row.version)


class FeedRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _ordered_by_commit(self) -> bool:
        return self.session.get_bind().dialect.name != "postgresql"

    def start(self) -> FeedCursor:
        """The position to follow from, taken *before* the caller reads the rows it indexes:
        anything committed after this (or in flight now) is read from the feed later."""
        last = func.coalesce(func.max(MemoryEvent.id), 0)
        if self._ordered_by_commit():
            return FeedCursor(after_id=int(self.session.scalar(select(last)) or 0))
        row = self.session.execute(select(last, cast(func.pg_current_snapshot(), Text))).one()
        return FeedCursor(after_id=int(row[0]), snapshot=Snapshot.parse(row[1]))

    def read(self, cursor: FeedCursor) -> tuple[Snapshot | None, list[FeedEvent]]:
        """(the read's snapshot, the events new to ``cursor`` in id order): hand them to
        ``cursor.advance`` once handled."""
        columns = (
            MemoryEvent.id,
            MemoryEvent.xact_id,
            MemoryEvent.tenant_id,
            MemoryEvent.memory_id,
            MemoryEvent.event,
            MemoryEvent.version,
        )
        if self._ordered_by_commit():
            stmt = select(*columns).where(MemoryEvent.id > cursor.after_id).order_by(MemoryEvent.id)
            return None, [_event(row) for row in self.session.execute(stmt)]
        seen = cursor.snapshot
        new: ColumnElement[bool] = (
            MemoryEvent.id > cursor.after_id
            if seen is None
            else or_(MemoryEvent.xact_id >= seen.xmax, MemoryEvent.xact_id.in_(sorted(seen.xip)))
        )
        # one statement: the snapshot printed is the one the events are read in
        now = select(cast(func.pg_current_snapshot(), Text).label("snapshot")).subquery("now")
        stmt = (
            select(now.c.snapshot, *columns)
            .select_from(now.outerjoin(MemoryEvent, new))
            .order_by(MemoryEvent.id)
        )
        rows = self.session.execute(stmt).all()
        events = [_event(row) for row in rows if row.id is not None]
        return Snapshot.parse(str(rows[0].snapshot)), events
