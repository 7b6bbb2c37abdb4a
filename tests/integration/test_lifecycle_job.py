"""The lifecycle job on real databases: recorded runs, consolidation, contradiction flags,
resuming an interrupted run, and one runner at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lifecycle.job import JobConfig, run_job
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.locks import runner_lock
from storage.models import LifecycleRun, Memory, MemoryEvent, MemoryLink, Tenant
from storage.types import utcnow
from tests.integration.lifecycle_seed import EMBEDDER, seed

DUPLICATES = [
    "I love hiking in the Alps with my dog Rex.",
    "I love hiking in the Alps with my dog Rex!",
    "i love hiking in the alps with my dog rex",
]
OTHERS = [
    "The quarterly report is due on Friday.",
    "Dinner with Maria at the Thai place on Saturday.",
    "The wifi password at the office changed last week.",
]


@pytest.fixture
def db(database_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    engine = build_engine(database_url)
    yield engine, build_sessionmaker(engine)
    engine.dispose()


def _run(engine: Engine, sessions: sessionmaker[Session], **config: object) -> LifecycleRun:
    values: dict[str, object] = {"now": utcnow()}
    values.update(config)
    return run_job(sessions, runner_lock(engine), JobConfig(**values), embed=EMBEDDER.embed)  # type: ignore[arg-type]


def test_near_duplicates_are_consolidated_once_and_sources_stay(
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    engine, sessions = db
    dup_ids = seed(sessions, DUPLICATES)
    other_ids = seed(sessions, OTHERS)
    # same vector, different words: cosine alone would merge these; token overlap must not
    same = EMBEDDER.embed(["tea"])[0]
    twins = seed(
        sessions,
        ["Green tea in the morning.", "Server rack 4 needs a new fan."],
        vectors=[same, same],
    )

    dry = _run(engine, sessions, dry_run=True)
    assert dry.status == "completed" and dry.report["merged"] == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Memory)) == 8  # dry: nothing changed

    run = _run(engine, sessions)
    assert run.status == "completed"
    assert run.report["consolidated"] == 1 and run.report["merged"] == 3
    with sessions() as session:
        rows = {m.id: m for m in session.scalars(select(Memory))}
        merged_id = rows[dup_ids[0]].superseded_by
        assert merged_id is not None and all(rows[i].superseded_by == merged_id for i in dup_ids)
        assert all(rows[i].superseded_by is None for i in other_ids + twins)
        merged = rows[merged_id]
        assert merged.content == "I love hiking in the Alps with my dog Rex."  # said once
        assert merged.meta["consolidated_from"] == 3
        assert [r.content for i, r in rows.items() if i in dup_ids] == DUPLICATES  # untouched
        links = session.scalars(
            select(MemoryLink).where(MemoryLink.relation == "consolidates")
        ).all()
        assert {(link.memory_id, link.other_id) for link in links} == {
            (merged_id, i) for i in dup_ids
        }
        events = session.scalars(
            select(MemoryEvent).where(MemoryEvent.memory_id == dup_ids[0])
        ).all()
        assert events[-1].event == "consolidated"

    again = _run(engine, sessions)
    assert again.report["merged"] == 0  # idempotent: sources are not merged twice
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Memory)) == 9


def test_contradictions_are_flagged_newest_first(db: tuple[Engine, sessionmaker[Session]]) -> None:
    engine, sessions = db
    older = seed(sessions, ["My favorite color is blue."], created=utcnow() - timedelta(days=5))
    newer = seed(sessions, ["Actually my favorite color is green now."])
    seed(sessions, ["My favorite color is green, by the way."], user_id="someone-else")
    run = _run(engine, sessions)
    assert run.report["contradictions"] == 1
    with sessions() as session:
        link = session.scalars(select(MemoryLink).where(MemoryLink.relation == "contradicts")).one()
    assert (link.memory_id, link.other_id) == (newer[0], older[0])
    assert link.detail == {
        "entity": "u1",
        "attribute": "favorite color",
        "value": "green",
        "previous_value": "blue",
    }
    assert _run(engine, sessions).report["contradictions"] == 0  # flagged once


def test_a_year_of_runs_compresses_and_is_recorded(
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    engine, sessions = db
    ids = seed(sessions, [f"note {i} about zebra{i}" for i in range(40)])
    with unit_of_work(sessions) as session:
        session.get(Memory, ids[0]).pinned = True  # type: ignore[union-attr]
    start = utcnow()
    for month in range(1, 13):
        _run(engine, sessions, now=start + timedelta(days=30 * month), batch_size=7)
    with sessions() as session:
        rows = {m.id: m for m in session.scalars(select(Memory))}
        runs = session.scalars(select(LifecycleRun)).all()
    assert len(runs) == 12 and {r.status for r in runs} == {"completed"}
    assert rows[ids[0]].tier == "hot"
    assert sum(m.tier == "archived" for m in rows.values()) == 39
    assert sum(sum(r.report["moves"].values()) for r in runs) >= 39 * 2


def test_an_interrupted_run_is_resumed_from_its_cursor(
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    engine, sessions = db
    ids = sorted(seed(sessions, [f"old note {i}" for i in range(20)]))
    with sessions() as session:
        tenant_id = session.scalars(select(Tenant.id)).one()
    with unit_of_work(sessions) as session:
        session.add(
            LifecycleRun(
                status="running", cursor=f"{tenant_id}/{ids[9]}", report={}, clock=utcnow()
            )
        )
    run = _run(engine, sessions, now=utcnow() + timedelta(days=400), batch_size=3)
    assert run.status == "completed" and run.report["examined"] == 20  # wraps round: all of them
    with sessions() as session:
        statuses = sorted(r.status for r in session.scalars(select(LifecycleRun)))
        assert statuses == ["completed", "interrupted"]
        assert run.report["resumed_from"] is not None
        assert {m.tier for m in session.scalars(select(Memory))} == {"archived"}


class _SlowLock:
    """The real lock, with a pause after taking it, so two runners surely overlap."""

    def __init__(self, engine: Engine, started: threading.Barrier) -> None:
        self.inner, self.started = runner_lock(engine), started

    def acquire(self) -> bool:
        got = self.inner.acquire()
        self.started.wait(timeout=30)
        return got

    def renew(self) -> bool:
        return self.inner.renew()

    def release(self) -> None:
        self.inner.release()


def test_two_runners_at_once_only_one_works(db: tuple[Engine, sessionmaker[Session]]) -> None:
    engine, sessions = db
    seed(sessions, [f"memory {i}" for i in range(50)])
    barrier = threading.Barrier(2)
    results: list[LifecycleRun] = []

    def runner() -> None:
        config = JobConfig(now=utcnow() + timedelta(days=90), batch_size=5)
        results.append(run_job(sessions, _SlowLock(engine, barrier), config))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(r.status for r in results) == ["completed", "skipped"]
    # and the lock is free again afterwards
    assert _run(engine, sessions).status == "completed"


def test_lock_excludes_a_second_holder_until_released(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        first, second = runner_lock(engine), runner_lock(engine)
        assert first.acquire()
        assert not second.acquire()
        assert first.renew()
        first.release()
        assert second.acquire()
        second.release()
    finally:
        engine.dispose()


def test_dry_run_records_a_report_and_changes_nothing(
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    engine, sessions = db
    seed(sessions, [f"memory {i}" for i in range(10)])
    run = _run(engine, sessions, now=utcnow() + timedelta(days=365), dry_run=True)
    assert (
        run.dry_run
        and run.report["changed"] == 10
        and run.report["bytes_after"] < run.report["bytes_before"]
    )
    with sessions() as session:
        assert {m.tier for m in session.scalars(select(Memory))} == {"hot"}
        assert session.scalars(select(MemoryEvent)).first() is None


def test_the_run_supersedes_outdated_memories_and_a_dry_run_changes_nothing(
    db: tuple[Engine, sessionmaker[Session]],
) -> None:
    from storage.models import MemoryClaim

    engine, sessions = db
    old = seed(sessions, ["I live in Paris."], created=utcnow() - timedelta(days=9))
    new = seed(sessions, ["I just moved to Berlin!", "I visited Rome."])
    seed(sessions, ["I live in Oslo."], user_id="someone-else")
    dry = _run(engine, sessions, dry_run=True)
    assert dry.report["superseded"] == 1
    with sessions() as session:
        assert session.get(Memory, old[0]).replaced_by is None  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(MemoryClaim)) == 0
    run = _run(engine, sessions)
    assert run.report["superseded"] == 1
    assert run.report["supersessions"] == [{"old": str(old[0]), "new": str(new[0])}]
    with sessions() as session:
        row = session.get(Memory, old[0])
        assert row is not None and row.replaced_by == new[0] and row.superseded_at is not None
        assert row.valid_until == session.get(Memory, new[0]).occurred_at  # type: ignore[union-attr]
        claims = session.scalars(select(MemoryClaim.value).order_by(MemoryClaim.value)).all()
        events = session.scalars(
            select(MemoryEvent.event).where(MemoryEvent.memory_id == old[0])
        ).all()
    assert claims == ["berlin", "oslo", "paris"]  # the claim index is filled in
    assert events == ["superseded"]
    assert _run(engine, sessions).report["superseded"] == 0  # once
