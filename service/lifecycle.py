"""Running the lifecycle job from the service: the schedule in ``serve``, the ``worker`` and
``lifecycle run`` commands and ``POST /v1/admin/lifecycle/runs`` all come through here."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lifecycle.job import JobConfig, run_job
from lifecycle.types import Embed
from service.memories.supersession import proper_names
from service.metrics import record_lifecycle_run
from service.settings import LifecycleSettings
from service.state import AppState
from storage.locks import runner_lock
from storage.models import LifecycleRun
from storage.repositories.erasure import flush_erased
from storage.types import utcnow

logger = logging.getLogger("mnemonix.lifecycle")


def run_lifecycle(
    engine: Engine,
    sessions: sessionmaker[Session],
    settings: LifecycleSettings,
    *,
    embed: Embed | None,
    trigger: str,
    tenant: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    after: Callable[[LifecycleRun], Any] | None = None,
) -> LifecycleRun:
    """One run under the cross-process lock; ``after`` sees the recorded run (index sync, metrics)."""
    config = JobConfig(
        now=now or utcnow(),
        tenant=tenant,
        dry_run=dry_run,
        trigger=trigger,
        batch_size=settings.batch_size,
        pause_seconds=settings.pause_seconds,
        runner=f"{socket.gethostname()}:{os.getpid()}",
    )
    run = run_job(sessions, runner_lock(engine), config, embed=embed, names=proper_names)
    report = run.report or {}
    logger.info(
        "lifecycle %s (%s%s): examined %s, changed %s, moves %s, merged %s, contradictions %s",
        run.status,
        trigger,
        ", dry run" if dry_run else "",
        report.get("examined", 0),
        report.get("changed", 0),
        report.get("moves", {}),
        report.get("merged", 0),
        report.get("contradictions", 0),
    )
    if not run.dry_run and int(report.get("expired", 0) or 0) and engine.dialect.name == "sqlite":
        # expired memories were erased as deletes are: their text leaves the SQLite files now
        # (in the API process the erasure timer retries if a reader held the WAL)
        flush_erased(engine, wait_ms=1000)
    if after is not None:
        after(run)
    return run


def run_for_app(
    state: AppState,
    *,
    trigger: str,
    tenant: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> LifecycleRun:
    """A run inside the API process: its changes reach this process's indexes at once."""

    def after(run: LifecycleRun) -> None:
        state.indexes.sync()
        if not run.dry_run and (run.report or {}).get("expired"):
            state.erasure.erased()
        if not run.dry_run:
            record_lifecycle_run(state.metrics, {"status": run.status, **(run.report or {})})

    return run_lifecycle(
        state.engine,
        state.sessions,
        state.settings.lifecycle,
        embed=state.embedder.embed,
        trigger=trigger,
        tenant=tenant,
        dry_run=dry_run,
        now=now,
        after=after,
    )
