"""The lifecycle job: one run decays and compresses every memory, then consolidates
near-duplicates, flags contradictions and supersedes outdated memories, tenant by tenant under each tenant's policy.

- **One runner at a time** across processes: the run holds ``storage.locks.runner_lock``
  (PostgreSQL advisory lock / SQLite lease). A run that cannot take it is recorded as
  ``skipped`` and does nothing.
- **Recorded**: a ``lifecycle_run`` row from the start (``running``), updated after every
  batch in the batch's own transaction (cursor + report), closed as ``completed`` or
  ``failed``; a dry run computes the same report and rolls every change back.
- **Resumable**: a run that finds one left ``running`` (its process died; the lock is free)
  marks it ``interrupted`` and picks up from its cursor, wrapping round to cover the rest.
- **Batched and throttled**: ``batch_size`` memories per transaction, ``pause_seconds``
  between batches so the API keeps the database and CPU it needs.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lifecycle.expiry import erase_expired
from lifecycle.merge import MergeReport, consolidate_tenant, flag_contradictions
from lifecycle.policy import TenantPolicy, policy_from_mapping
from lifecycle.runner import RunReport, decay_rows
from lifecycle.supersession import DetectReport, Names, detect_tenant
from lifecycle.types import Embed
from storage.db import batch, is_write_conflict, unit_of_work
from storage.locks import RunnerLock
from storage.models import LifecycleRun, Memory
from storage.repositories import LifecycleRunRepository, LifecycleScanRepository
from storage.repositories.lifecycle import Position
from storage.types import utcnow

logger = logging.getLogger("mnemonix.lifecycle")
Key = Position


class LockLost(RuntimeError):
    pass


@dataclass(frozen=True)
class JobConfig:
    now: datetime
    tenant: str | None = None
    dry_run: bool = False
    trigger: str = "manual"
    batch_size: int = 500
    pause_seconds: float = 0.0
    runner: str = ""


def _policies(session: Session, tenant: str | None) -> dict[uuid.UUID, tuple[str, TenantPolicy]]:
    out = {}
    for row in LifecycleScanRepository(session).tenants(name=tenant):
        try:
            policy = policy_from_mapping(row.policy)
        except ValueError:
            logger.warning("tenant %s has an invalid lifecycle policy; using defaults", row.name)
            policy = TenantPolicy()
        out[row.id] = (row.name, policy)
    return out


def _parse_cursor(cursor: str | None) -> Key | None:
    if not cursor:
        return None
    tenant, _, memory = cursor.partition("/")
    try:
        return uuid.UUID(tenant), uuid.UUID(memory)
    except ValueError:
        return None


def _record(config: JobConfig, **fields: Any) -> LifecycleRun:
    """A run record for ``config`` (tenant, dry run, trigger, runner, clock) plus ``fields``."""
    return LifecycleRun(
        tenant=config.tenant,
        dry_run=config.dry_run,
        trigger=config.trigger,
        runner=config.runner,
        clock=config.now,
        **fields,
    )


def _finish(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    status: str,
    report: dict[str, Any],
    error: str | None,
) -> LifecycleRun:
    with unit_of_work(sessions) as session:
        run = LifecycleRunRepository(session).get(run_id)
        assert run is not None
        run.status, run.report, run.error = status, report, error
        run.finished_at = run.heartbeat_at = utcnow()
        session.flush()
        session.expunge(run)
    return run


def run_job(
    sessions: sessionmaker[Session],
    lock: RunnerLock,
    config: JobConfig,
    *,
    embed: Embed | None = None,
    names: Names | None = None,
) -> LifecycleRun:
    """Run the lifecycle once; returns the recorded run (``skipped`` if another runner works).
    ``names`` finds the proper names of a text (supersession detection; see
    ``lifecycle.claims``)."""
    if not lock.acquire():
        with unit_of_work(sessions) as session:
            run = LifecycleRunRepository(session).add(
                _record(
                    config,
                    status="skipped",
                    finished_at=utcnow(),
                    report={},
                    error="another lifecycle runner holds the lock",
                )
            )
            session.expunge(run)
        return run
    try:
        return _locked_run(sessions, lock, config, embed, names)
    finally:
        lock.release()


def _locked_run(
    sessions: sessionmaker[Session],
    lock: RunnerLock,
    config: JobConfig,
    embed: Embed | None,
    names: Names | None,
) -> LifecycleRun:
    with unit_of_work(sessions) as session:
        runs = LifecycleRunRepository(session)
        runs.interrupt_running()
        previous = None if config.dry_run else runs.resumable(tenant=config.tenant)
        resume = _parse_cursor(previous.cursor) if previous else None
        policies = _policies(session, config.tenant)
        extra: dict[str, Any] = {"resumed_from": str(previous.id) if resume and previous else None}
        run_id = runs.add(_record(config, status="running", report=dict(extra))).id
    report = RunReport()
    started = time.perf_counter()
    try:
        if config.tenant is not None and not policies:
            raise ValueError(f"no tenant named {config.tenant!r}")
        tenants = list(policies)
        # expired memories go first: nothing below should decay or merge them
        extra["expired"] = erase_expired(
            sessions, tenants, now=config.now, dry_run=config.dry_run, batch=config.batch_size
        )
        decay_policies = {tid: p.decay for tid, (_, p) in policies.items()}
        segments: list[tuple[Key | None, Key | None]] = (
            [(resume, None), (None, resume)] if resume else [(None, None)]
        )
        for after, until in segments:
            while True:
                rows: list[Memory] = []
                if not lock.renew():
                    raise LockLost("the lifecycle lock was lost; stopping")
                try:
                    with batch(sessions, dry_run=config.dry_run) as session:
                        rows = LifecycleScanRepository(session).batch(
                            tenants, after=after, until=until, size=config.batch_size
                        )
                        if not rows:
                            break
                        after = (rows[-1].tenant_id, rows[-1].id)
                        decay_rows(
                            session,
                            rows,
                            now=config.now,
                            policies=decay_policies,
                            embed=embed,
                            report=report,
                        )
                        LifecycleRunRepository(session).progress(
                            run_id, cursor=f"{after[0]}/{after[1]}", report=report.as_dict() | extra
                        )
                except Exception as exc:  # a memory was edited or locked meanwhile: next run
                    if not is_write_conflict(exc):
                        raise
                    report.skipped_conflicts += len(rows)
                if config.pause_seconds:
                    time.sleep(config.pause_seconds)
        merges = MergeReport()
        detected = DetectReport()
        for tenant_id, (_, policy) in policies.items():
            if policy.consolidation.enabled:
                consolidate_tenant(
                    sessions,
                    tenant_id,
                    policy.consolidation,
                    now=config.now,
                    embed=embed,
                    dry_run=config.dry_run,
                    report=merges,
                )
            if policy.contradictions:
                flag_contradictions(sessions, tenant_id, dry_run=config.dry_run, report=merges)
            if policy.supersession:
                detect_tenant(
                    sessions, tenant_id, names=names, dry_run=config.dry_run, report=detected
                )
            lock.renew()
        report.consolidated, report.merged = merges.consolidated, merges.merged
        report.contradictions = merges.contradictions
        report.superseded = detected.superseded
        extra["supersessions"] = detected.pairs
        report.skipped_conflicts += merges.skipped_conflicts
        report.bytes_after += merges.bytes_delta
        extra["merges"] = merges.merges
        extra["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return _finish(sessions, run_id, "completed", report.as_dict() | extra, None)
    except Exception as exc:
        extra["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        _finish(
            sessions, run_id, "failed", report.as_dict() | extra, f"{type(exc).__name__}: {exc}"
        )
        raise
