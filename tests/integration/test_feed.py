"""The change feed against real databases: a follower never skips a committed write, even
when event ids become visible out of commit order (PostgreSQL: ids are drawn at insert time,
transactions commit in any order)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.engine import SearchSpec
from service.indexing import IndexRegistry
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Memory, MemoryEvent
from storage.records import content_hash
from storage.repositories import MemoryRepository, TenantRepository
from tests.conftest import create_database
from tests.helpers import test_settings

DIMENSION = 32


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from create_database("postgres", tmp_path)


def _sessions(url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(url)
    try:
        yield build_sessionmaker(engine)
    finally:
        engine.dispose()


@pytest.fixture
def pg_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    yield from _sessions(postgres_url)


@pytest.fixture
def any_sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    yield from _sessions(database_url)


def _tenant(sessions: sessionmaker[Session]) -> uuid.UUID:
    with unit_of_work(sessions) as session:
        return TenantRepository(session).add(f"t-{uuid.uuid4().hex[:8]}").id


def _registry(sessions: sessionmaker[Session], tmp_path: Path) -> IndexRegistry:
    url = str(sessions.kw["bind"].url)
    registry = IndexRegistry(test_settings(url, tmp_path), sessions, DIMENSION)
    registry.rebuild_all()
    return registry


def _create(session: Session, tenant_id: uuid.UUID, content: str) -> Memory:
    """Insert a memory and its ``created`` event; the event's id is drawn now (flush)."""
    row = Memory(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        content=content,
        content_hash=content_hash(content),
        session_id=uuid.uuid4().hex,  # alone in its conversation: no neighbour's words
        meta={},
    )
    repo = MemoryRepository(session)
    repo.add([row])
    repo.add_event(memory=row, event="created", changes={"content": content})
    session.flush()
    return row


def _top(registry: IndexRegistry, tenant_id: uuid.UUID, token: str) -> uuid.UUID | None:
    """The keyword channel's best hit for a token (None: no hit)."""
    spec = SearchSpec(text=token, reference_time=datetime.now(UTC), channels=["keyword"])
    hits = registry.engine(tenant_id).search(spec).hits
    return hits[0].memory_id if hits else None


def _event_id(session: Session, memory_id: uuid.UUID) -> int:
    events = session.query(MemoryEvent).filter(MemoryEvent.memory_id == memory_id).all()
    return max(e.id for e in events)


def test_an_older_event_id_committed_later_is_not_skipped(
    pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Txn A takes an event id and stays open; txn B takes a later id and commits; the
    follower syncs (sees B); then A commits. The follower must still apply A."""
    tenant_id = _tenant(pg_sessions)
    follower = _registry(pg_sessions, tmp_path)
    slow = pg_sessions()
    try:
        a = _create(slow, tenant_id, "alphatoken from the slow transaction")
        a_event = _event_id(slow, a.id)
        with unit_of_work(pg_sessions) as fast:
            b = _create(fast, tenant_id, "bravotoken from the fast transaction")
            b_event = _event_id(fast, b.id)
        assert a_event < b_event  # ids are out of commit order: the situation under test

        assert follower.sync() == 1
        assert _top(follower, tenant_id, "bravotoken") == b.id
        assert _top(follower, tenant_id, "alphatoken") is None  # not committed yet
        assert follower.sync() == 0  # B is not delivered twice while A keeps the horizon back

        slow.commit()
    finally:
        slow.close()
    assert follower.sync() == 1
    assert _top(follower, tenant_id, "alphatoken") == a.id
    assert follower.sync() == 0
    follower.close()


def test_a_transaction_in_flight_at_start_up_is_not_skipped(
    pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The start position is taken before the rebuild reads rows: a write that commits after
    the rebuild, with an id below the highest id at start-up, still reaches the index."""
    tenant_id = _tenant(pg_sessions)
    slow = pg_sessions()
    try:
        a = _create(slow, tenant_id, "charlietoken written during start-up")
        with unit_of_work(pg_sessions) as fast:
            _create(fast, tenant_id, "deltatoken committed before start-up")
        follower = _registry(pg_sessions, tmp_path)
        assert _top(follower, tenant_id, "deltatoken") is not None
        slow.commit()
    finally:
        slow.close()
    follower.sync()
    assert _top(follower, tenant_id, "charlietoken") == a.id
    follower.close()


def test_updates_and_deletes_flow_and_own_writes_are_skipped(
    any_sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both backends: another writer's create, update and delete reach the follower; the
    follower's own applied write is not re-read from SQL; a version is never undone."""
    tenant_id = _tenant(any_sessions)
    follower = _registry(any_sessions, tmp_path)
    with unit_of_work(any_sessions) as session:
        row = _create(session, tenant_id, "echotoken first words")
    assert follower.sync() == 1
    assert _top(follower, tenant_id, "echotoken") == row.id

    with unit_of_work(any_sessions) as session:
        repo = MemoryRepository(session)
        fresh = repo.get(tenant_id=tenant_id, memory_id=row.id)
        assert fresh is not None
        fresh.content = "foxtrottoken second words"
        session.flush()
        repo.add_event(memory=fresh, event="updated", changes={})
    assert follower.sync() == 1
    assert _top(follower, tenant_id, "foxtrottoken") == row.id
    assert _top(follower, tenant_id, "echotoken") is None

    # an own write: applied locally after commit, then seen in the feed without a row read
    with unit_of_work(any_sessions) as session:
        own = _create(session, tenant_id, "golftoken written here")
    follower.apply(tenant_id, upserted=[own])
    reads: list[object] = []
    original = MemoryRepository.get_many

    def counted(self: MemoryRepository, **kw: Any) -> dict[uuid.UUID, Memory]:
        reads.append(kw)
        return original(self, **kw)

    monkeypatch.setattr(MemoryRepository, "get_many", counted)
    assert follower.sync() == 1
    monkeypatch.undo()
    assert reads == []
    assert _top(follower, tenant_id, "golftoken") == own.id

    # a stale copy (version 1, the first words) arriving after the newer one is ignored
    assert row.version == 1
    follower.apply(tenant_id, upserted=[row])
    assert _top(follower, tenant_id, "foxtrottoken") == row.id

    with unit_of_work(any_sessions) as session:
        repo = MemoryRepository(session)
        doomed = repo.get(tenant_id=tenant_id, memory_id=row.id)
        assert doomed is not None
        repo.add_event(memory=doomed, event="deleted", changes={})
        repo.delete(doomed)
    assert follower.sync() == 1
    assert _top(follower, tenant_id, "foxtrottoken") is None
    assert follower.sync() == 0
    follower.close()
