"""The lifecycle job as separate processes (``mnemonix lifecycle run``), on SQLite and
PostgreSQL: a run killed midway is finished cleanly by the next one, and two runners started
at once do not both work."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import build_engine, build_sessionmaker
from storage.models import LifecycleRun, Memory, MemoryLink
from storage.types import utcnow
from tests.integration.lifecycle_seed import seed
from tests.server import MNEMONIX

LATER = (utcnow() + timedelta(days=200)).isoformat()


def _env(database_url: str, tmp_path: Path, *, pause: float) -> dict[str, str]:
    return {
        **os.environ,
        "MNEMONIX_DATABASE_URL": database_url,
        "MNEMONIX_DATA_DIR": str(tmp_path / "data"),
        "MNEMONIX_EMBEDDER": "hash",
        "MNEMONIX_LIFECYCLE__BATCH_SIZE": "10",
        "MNEMONIX_LIFECYCLE__PAUSE_SECONDS": str(pause),
    }


def _lifecycle(database_url: str, tmp_path: Path, *, pause: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [MNEMONIX, "lifecycle", "run", "--now", LATER],
        env=_env(database_url, tmp_path, pause=pause),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    output = process.communicate(timeout=180)[0]
    assert process.returncode == 0, output
    return output


@pytest.fixture
def world(database_url: str) -> Iterator[sessionmaker[Session]]:
    """330 memories, among them ten families of three near-duplicates to consolidate."""
    engine = build_engine(database_url)
    sessions = build_sessionmaker(engine)
    seed(sessions, [f"Note {i}: the {i}th item on the packing list." for i in range(300)])
    for i in range(10):
        seed(sessions, [f"Remember to water the fern number {i} on Sunday."] * 3)
    yield sessions
    engine.dispose()


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        rows = list(session.scalars(select(Memory)))
        links = list(session.scalars(select(MemoryLink)))
    merged_into = Counter(r.superseded_by for r in rows if r.superseded_by is not None)
    return {
        "memories": len(rows),
        "consolidated": sum(1 for r in rows if "consolidated_from" in r.meta),
        "sources": sum(merged_into.values()),
        "links": len(links),
        "distinct_links": len({(lk.memory_id, lk.other_id, lk.relation) for lk in links}),
        "archived": sum(r.tier == "archived" for r in rows if r.superseded_by is None),
    }


def test_a_run_killed_midway_is_finished_cleanly_by_the_next(
    world: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    sessions = world
    process = _lifecycle(database_url, tmp_path, pause=0.05)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some batches have committed
        with sessions() as session:
            run = session.scalars(select(LifecycleRun)).first()
            if run is not None and run.cursor is not None and run.report.get("examined", 0) >= 50:
                break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the run never got going: {process.communicate()[0]}")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with sessions() as session:
        killed = session.scalars(select(LifecycleRun)).one()
        assert killed.status == "running"  # it died without closing its record
        assert 0 < killed.report["examined"] < 330

    # the next run: the dead runner's lease/advisory lock is no obstacle, and it resumes
    _finish(_lifecycle(database_url, tmp_path, pause=0))
    with sessions() as session:
        runs = {r.status: r for r in session.scalars(select(LifecycleRun))}
    assert set(runs) == {"interrupted", "completed"}
    assert runs["completed"].report["resumed_from"] == str(runs["interrupted"].id)
    after = _snapshot(sessions)
    assert after == {
        "memories": 330 + 10,  # nothing lost, one consolidated memory per family, no duplicate
        "consolidated": 10,
        "sources": 30,
        "links": 30,
        "distinct_links": 30,
        "archived": 300 + 10,
    }
    # and running again changes nothing more
    _finish(_lifecycle(database_url, tmp_path, pause=0))
    assert _snapshot(sessions) == after


def test_two_runner_processes_started_at_once_only_one_works(
    world: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    sessions = world
    first = _lifecycle(database_url, tmp_path, pause=0.1)
    second = _lifecycle(database_url, tmp_path, pause=0.1)
    outputs = [_finish(process) for process in (first, second)]
    with sessions() as session:
        statuses = sorted(r.status for r in session.scalars(select(LifecycleRun)))
        worked = session.scalar(
            select(func.count()).select_from(LifecycleRun).where(LifecycleRun.status == "completed")
        )
    assert statuses == ["completed", "skipped"], outputs
    assert worked == 1
    assert _snapshot(sessions)["consolidated"] == 10  # merged once, not twice
