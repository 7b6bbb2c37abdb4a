"""``GET /v1/admin/stats``: sizes per tenant, tier and index; channel health; lifecycle runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from channels.registry import channel_names
from service.admin.schemas import (
    ChannelHealth,
    IndexStats,
    LifecycleRunSummary,
    LifecycleStats,
    StatsRead,
    TenantStats,
    TierStats,
    Totals,
)
from service.auth import State
from service.state import AppState
from storage.models import LifecycleRun
from storage.repositories import LifecycleRunRepository
from storage.repositories.admin import AdminRepository
from storage.repositories.memories import MemoryRepository

TIERS = ("hot", "warm", "cold", "archived")
RECENT_RUNS = 10

router = APIRouter(tags=["admin"])


def run_summary(run: LifecycleRun) -> LifecycleRunSummary:
    """A recorded run in the shape the lifecycle runs endpoints list."""
    report: dict[str, Any] = dict(run.report or {})
    duration = None
    if run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds() * 1000.0, 3)
    return LifecycleRunSummary(
        id=run.id,
        status=run.status,
        dry_run=run.dry_run,
        tenant=run.tenant,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=duration,
        examined=int(report.get("examined", 0)),
        changed=int(report.get("changed", 0)),
        moves={str(k): int(v) for k, v in (report.get("moves") or {}).items()},
        merged=int(report.get("merged", 0)),
        contradictions=int(report.get("contradictions", 0)),
        superseded=int(report.get("superseded", 0)),
        bytes_before=int(report.get("bytes_before", 0)),
        bytes_after=int(report.get("bytes_after", 0)),
        error=run.error,
    )


def collect_stats(state: AppState) -> StatsRead:
    with state.sessions() as session:
        tenants = AdminRepository(session).tenants_with_counts()
        by_tier = MemoryRepository(session).count_by_tenant_and_tier()
        runs = LifecycleRunRepository(session).recent(limit=RECENT_RUNS)
        summaries = [run_summary(run) for run in runs]
    tiers = {tier: TierStats(memories=0, bytes=0) for tier in TIERS}
    per_tenant: dict[Any, dict[str, int]] = {t.id: dict.fromkeys(TIERS, 0) for t, _ in tenants}
    for tenant_id, tier, n, size in by_tier:
        per_tenant.setdefault(tenant_id, dict.fromkeys(TIERS, 0))[tier] = n
        found = tiers.setdefault(tier, TierStats(memories=0, bytes=0))
        found.memories += n
        found.bytes += size
    indexes = {name: IndexStats(bytes=0, entries=0) for name in channel_names()}
    for engine in state.indexes.engines().values():
        for name, channel_stats in engine.stats().items():
            found_index = indexes.setdefault(name, IndexStats(bytes=0, entries=0))
            found_index.bytes += channel_stats.index_bytes
            found_index.entries += channel_stats.documents
    health = state.metrics.window.summary(channel_names())
    return StatsRead(
        tenants=[
            TenantStats(name=t.name, id=t.id, memories=n, tiers=per_tenant[t.id])
            for t, n in tenants
        ],
        tiers=tiers,
        indexes=indexes,
        channels={name: ChannelHealth(**values) for name, values in health.items()},
        lifecycle=LifecycleStats(runs=summaries),
        totals=Totals(memories=sum(n for _, n in tenants), tenants=len(tenants)),
    )


@router.get("/stats", response_model=StatsRead)
def stats(state: State) -> StatsRead:
    """Memories per tenant and tier, stored bytes per tier and per index, channel health and
    latency over the last 1000 searches, and the last 10 lifecycle runs."""
    return collect_stats(state)
