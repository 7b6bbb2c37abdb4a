"""The change-feed cursor against a model of PostgreSQL transactions: ids drawn at insert,
commits and rollbacks in any order, snapshots with an ``xmin``. Whatever the interleaving, a
follower handles every committed event exactly once, and by the first read after its commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.repositories.feed import FeedCursor, FeedEvent

TENANT = uuid.uuid4()


@dataclass
class Database:
    """Transactions get increasing xids; events get increasing ids from a shared sequence."""

    next_xid: int = 100
    next_id: int = 1
    running: dict[int, list[int]] = field(default_factory=dict)  # xid -> its event ids
    committed: dict[int, int] = field(default_factory=dict)  # event id -> xid

    def begin(self) -> None:
        self.running[self.next_xid] = []
        self.next_xid += 1

    def insert(self, xid: int) -> None:
        self.running[xid].append(self.next_id)
        self.next_id += 1

    def finish(self, xid: int, *, commit: bool) -> None:
        for event_id in self.running.pop(xid):
            if commit:
                self.committed[event_id] = xid

    def xmin(self) -> int:
        """``pg_snapshot_xmin``: the oldest running transaction, else the next xid."""
        return min(self.running, default=self.next_xid)

    def read(self, cursor: FeedCursor) -> list[FeedEvent]:
        """``FeedRepository.read``'s second statement: visible events at or above the xmin."""
        return [
            FeedEvent(i, xid, TENANT, uuid.UUID(int=i), "created", 1)
            for i, xid in sorted(self.committed.items())
            if cursor.xmin is None or xid >= cursor.xmin
        ]


@dataclass
class Follower:
    cursor: FeedCursor = field(default_factory=FeedCursor)
    handled: list[int] = field(default_factory=list)

    def sync(self, db: Database, between: list[tuple[int, bool]]) -> set[int]:
        """One read; ``between`` commits/rollbacks land between its two statements (READ
        COMMITTED). Returns the events committed before it began."""
        before = set(db.committed)
        horizon = db.xmin()
        for xid, commit in between:
            if xid in db.running:
                db.finish(xid, commit=commit)
        events = db.read(self.cursor)
        self.handled += [e.id for e in self.cursor.unseen(events)]
        self.cursor = self.cursor.advance(horizon, events)
        return before


OPS = st.lists(
    st.one_of(
        st.just(("begin", 0, False)),
        st.tuples(st.just("insert"), st.integers(0, 7), st.just(False)),
        st.tuples(st.just("finish"), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("sync"), st.integers(0, 7), st.booleans()),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_every_committed_event_is_handled_once_and_promptly(
    ops: list[tuple[str, int, bool]],
) -> None:
    db, follower = Database(), Follower()
    follower.cursor = FeedCursor(xmin=db.xmin())  # FeedRepository.start on PostgreSQL
    for op, pick, flag in ops:
        running = sorted(db.running)
        if op == "begin":
            db.begin()
        elif op == "insert" and running:
            db.insert(running[pick % len(running)])
        elif op == "finish" and running:
            db.finish(running[pick % len(running)], commit=flag)
        elif op == "sync":
            between = [(running[pick % len(running)], flag)] if running and pick % 2 else []
            before = follower.sync(db, between)
            assert before <= set(follower.handled), "a committed event was skipped"
        assert len(follower.handled) == len(set(follower.handled)), "an event came twice"
    for xid in sorted(db.running):
        db.finish(xid, commit=True)
    follower.sync(db, [])
    assert sorted(follower.handled) == sorted(db.committed)
    assert follower.cursor.seen == frozenset()  # nothing in flight: nothing held back


def test_the_skip_the_old_cursor_made() -> None:
    """The defect's sequence: A draws id 1 and stays open, B draws id 2 and commits, the
    follower reads, A commits. Reading "past the highest id seen" would skip id 1."""
    db, follower = Database(), Follower()
    follower.cursor = FeedCursor(xmin=db.xmin())
    db.begin()
    db.begin()
    a, b = sorted(db.running)
    db.insert(a)
    db.insert(b)
    db.finish(b, commit=True)
    follower.sync(db, [])
    assert follower.handled == [2]
    assert follower.cursor.xmin == a and follower.cursor.seen == {2}  # held back at A
    db.finish(a, commit=True)
    follower.sync(db, [])
    assert follower.handled == [2, 1]
    assert follower.cursor.after_id == 2


def test_ids_in_commit_order_need_no_horizon() -> None:
    """SQLite (one writer at a time): the cursor is the last id handled."""
    events = [FeedEvent(i, None, TENANT, uuid.UUID(int=i), "created", 1) for i in (4, 5, 6)]
    cursor = FeedCursor(after_id=3)
    assert [e.id for e in cursor.unseen(events)] == [4, 5, 6]
    after = cursor.advance(None, events)
    assert after == FeedCursor(after_id=6)
    assert cursor.advance(None, []) == cursor
