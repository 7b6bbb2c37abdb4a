"""The change-feed cursor against a model of PostgreSQL transactions: ids drawn at insert,
commits and rollbacks in any order, snapshots as PostgreSQL takes them. Whatever the
interleaving, a follower handles every committed event exactly once, and by the first read
after its commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.repositories.feed import FeedCursor, FeedEvent, Snapshot

TENANT = uuid.uuid4()


@dataclass
class Database:
    """Transactions get increasing xids; events get increasing ids from a shared sequence;
    snapshots are taken as PostgreSQL's ``GetSnapshotData`` takes them."""

    next_xid: int = 100
    next_id: int = 1
    latest_completed: int = 99
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
        self.latest_completed = max(self.latest_completed, xid)

    def snapshot(self) -> Snapshot:
        """xmax = latest completed xid + 1 (a running xid above it is not listed)."""
        xmax = self.latest_completed + 1
        xip = frozenset(x for x in self.running if x < xmax)
        return Snapshot(min(xip, default=xmax), xmax, xip)

    def read(self, cursor: FeedCursor) -> tuple[Snapshot, list[FeedEvent]]:
        """``FeedRepository.read``: one statement, so one snapshot for both halves."""
        snapshot = self.snapshot()
        events = [
            FeedEvent(i, xid, TENANT, uuid.UUID(int=i), "created", 1)
            for i, xid in sorted(self.committed.items())
        ]
        return snapshot, [e for e in events if cursor.wants(e)]


@dataclass
class Follower:
    cursor: FeedCursor
    handled: list[int] = field(default_factory=list)

    def sync(self, db: Database) -> None:
        snapshot, events = db.read(self.cursor)
        self.handled += [e.id for e in events]
        self.cursor = self.cursor.advance(snapshot, events)


OPS = st.lists(
    st.one_of(
        st.just(("begin", 0, False)),
        st.tuples(st.just("insert"), st.integers(0, 7), st.just(False)),
        st.tuples(st.just("finish"), st.integers(0, 7), st.booleans()),
        st.just(("sync", 0, False)),
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(OPS)
def test_every_committed_event_is_handled_once_and_promptly(
    ops: list[tuple[str, int, bool]],
) -> None:
    db = Database()
    follower = Follower(FeedCursor(snapshot=db.snapshot()))  # FeedRepository.start
    for op, pick, flag in ops:
        running = sorted(db.running)
        if op == "begin":
            db.begin()
        elif op == "insert" and running:
            db.insert(running[pick % len(running)])
        elif op == "finish" and running:
            db.finish(running[pick % len(running)], commit=flag)
        elif op == "sync":
            follower.sync(db)
            assert set(db.committed) <= set(follower.handled), "a committed event was skipped"
        assert len(follower.handled) == len(set(follower.handled)), "an event came twice"
    for xid in sorted(db.running):
        db.finish(xid, commit=True)
    follower.sync(db)
    assert sorted(follower.handled) == sorted(db.committed)


def test_the_skip_the_old_cursor_made() -> None:
    """The defect's sequence: A draws id 1 and stays open, B draws id 2 and commits, the
    follower reads, A commits. Reading "past the highest id seen" would skip id 1."""
    db = Database()
    follower = Follower(FeedCursor(snapshot=db.snapshot()))
    db.begin()
    db.begin()
    a, b = sorted(db.running)
    db.insert(a)
    db.insert(b)
    db.finish(b, commit=True)
    follower.sync(db)
    assert follower.handled == [2]
    assert follower.cursor.snapshot == Snapshot(a, b + 1, frozenset({a}))
    follower.sync(db)
    assert follower.handled == [2]  # B is not read again while A is open
    db.finish(a, commit=True)
    follower.sync(db)
    assert follower.handled == [2, 1]
    assert follower.cursor.after_id == 2


def test_a_snapshot_as_postgresql_prints_it() -> None:
    assert Snapshot.parse("10:20:10,14,15") == Snapshot(10, 20, frozenset({10, 14, 15}))
    assert Snapshot.parse("5302:5302:") == Snapshot(5302, 5302, frozenset())
    snapshot = Snapshot.parse("10:20:10,14")
    assert [x for x in range(8, 23) if not snapshot.finished(x)] == [10, 14, 20, 21, 22]


def test_ids_in_commit_order_need_no_snapshot() -> None:
    """SQLite (one writer at a time): the cursor is the last id handled."""
    events = [FeedEvent(i, None, TENANT, uuid.UUID(int=i), "created", 1) for i in (2, 4, 5, 6)]
    cursor = FeedCursor(after_id=3)
    new = [e for e in events if cursor.wants(e)]
    assert [e.id for e in new] == [4, 5, 6]
    assert cursor.advance(None, new) == FeedCursor(after_id=6)
    assert cursor.advance(None, []) == cursor
