"""The change feed: which ``memory_event`` rows a follower has not handled yet, exactly.

Why not "every id above the highest id seen": on PostgreSQL an event's id is drawn from a
sequence when the row is inserted, but becomes visible when its transaction commits, and
transactions commit in any order. A follower that reads past id 11 while the transaction
holding id 10 is still open skips id 10 for ever.

The cursor here follows transactions instead. Every event records the id of the transaction
that wrote it (``xact_id``, ``pg_current_xact_id()``). A snapshot's ``xmin``
(``pg_snapshot_xmin(pg_current_snapshot())``) is the oldest transaction still running when it
was taken: every transaction below it has finished, so each of its events is visible in that
snapshot and in every later one, or never will be (rolled back). A read is therefore:

1. ``horizon`` = the ``xmin`` of a snapshot taken first;
2. every event with ``xact_id >= cursor.xmin`` (a later statement: it sees a superset);
3. the new cursor is ``xmin = horizon``, with ``seen`` = the ids read whose ``xact_id >=
   horizon`` (they are read again next time, and must not be handled twice).

Invariant: every event whose transaction is below ``cursor.xmin``, and every id in
``cursor.seen``, has been handled. Hence each committed event is handled by the first read
that starts after its commit; none is skipped, none handed out twice. What is re-read each
time is only the events of transactions at or above the horizon (those of the last moments,
plus any written since the oldest still-running write transaction began).

SQLite has one writer at a time (every transaction begins ``IMMEDIATE``), so ids are assigned
in commit order and "every id above the last one handled" is exact there; ``xact_id`` is NULL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, cast, func, select
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
class FeedCursor:
    """A follower's position. ``xmin`` is None where ids are in commit order (SQLite), or on
    PostgreSQL before the first read (then the whole feed is new)."""

    after_id: int = 0
    """The highest event id handled (the position itself on SQLite; informational on PG)."""
    xmin: int | None = None
    """PostgreSQL: every event of a transaction older than this has been handled."""
    seen: frozenset[int] = field(default_factory=frozenset)
    """PostgreSQL: handled events whose transaction is not older than ``xmin``."""

    def unseen(self, events: Iterable[FeedEvent]) -> list[FeedEvent]:
        """The events of a read that this cursor has not handled yet, in id order."""
        return sorted((e for e in events if e.id not in self.seen), key=lambda e: e.id)

    def advance(self, horizon: int | None, events: Iterable[FeedEvent]) -> FeedCursor:
        """The cursor once every event of a read (``FeedRepository.read``) is handled.

        ``horizon`` is the read's snapshot ``xmin`` (None on SQLite); ``events`` all it
        returned, handled before or now.
        """
        last = self.after_id
        seen: set[int] = set()
        for event in events:
            last = max(last, event.id)
            if horizon is not None and event.xact_id is not None and event.xact_id >= horizon:
                seen.add(event.id)
        return FeedCursor(after_id=last, xmin=horizon, seen=frozenset(seen))


class FeedRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _ordered_by_commit(self) -> bool:
        return self.session.get_bind().dialect.name != "postgresql"

    def _horizon(self) -> int:
        xmin = func.pg_snapshot_xmin(func.pg_current_snapshot())  # an xid8: via text to bigint
        return int(self.session.scalar(select(cast(cast(xmin, Text), BigInteger))) or 0)

    def start(self) -> FeedCursor:
        """The position to follow from, taken *before* the caller reads the rows it indexes:
        anything committed after this (or still in flight now) is read from the feed later."""
        last = int(self.session.scalar(select(func.coalesce(func.max(MemoryEvent.id), 0))) or 0)
        if self._ordered_by_commit():
            return FeedCursor(after_id=last)
        return FeedCursor(after_id=last, xmin=self._horizon())

    def read(self, cursor: FeedCursor) -> tuple[int | None, list[FeedEvent]]:
        """(horizon, events) to hand to ``cursor.unseen`` and ``cursor.advance``."""
        columns = (
            MemoryEvent.id,
            MemoryEvent.xact_id,
            MemoryEvent.tenant_id,
            MemoryEvent.memory_id,
            MemoryEvent.event,
            MemoryEvent.version,
        )
        horizon: int | None = None
        stmt = select(*columns).order_by(MemoryEvent.id)
        if self._ordered_by_commit():
            stmt = stmt.where(MemoryEvent.id > cursor.after_id)
        else:
            horizon = self._horizon()  # first: the events below read next are all visible
            if cursor.xmin is not None:
                stmt = stmt.where(MemoryEvent.xact_id >= cursor.xmin)
        events = [FeedEvent(*row) for row in self.session.execute(stmt)]
        return horizon, events
