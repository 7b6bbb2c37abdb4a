"""``/v1/admin/lifecycle``: start a run, list and inspect recorded runs; tenant policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from lifecycle.policy import policy_from_mapping, policy_to_mapping
from service.admin.schemas import LifecycleRunSummary
from service.admin.stats import run_summary
from service.admin.tenants import tenant_by_name
from service.auth import State
from service.lifecycle import run_for_app
from service.schemas import Strict
from storage.db import unit_of_work
from storage.errors import Conflict, InvalidInput, NotFound
from storage.models import LifecycleRun
from storage.repositories import LifecycleRunRepository, TenantRepository

router = APIRouter(tags=["admin"])


class LifecycleRunCreate(Strict):
    dry_run: bool = False
    """Report what would change, change nothing."""
    tenant: str | None = Field(None, min_length=1, max_length=100)
    """Only this tenant (default: all)."""


class LifecycleRunRead(LifecycleRunSummary):
    trigger: str
    clock: datetime
    consolidated: int = 0
    skipped_conflicts: int = 0
    resumed_from: uuid.UUID | None = None
    merges: list[dict[str, Any]] = Field(default_factory=list)
    """Up to 100 merges: the consolidated memory and its sources."""

    @classmethod
    def of(cls, run: LifecycleRun) -> LifecycleRunRead:
        report = run.report or {}
        return cls(
            **run_summary(run).model_dump(),
            trigger=run.trigger,
            clock=run.clock,
            consolidated=int(report.get("consolidated", 0)),
            skipped_conflicts=int(report.get("skipped_conflicts", 0)),
            resumed_from=report.get("resumed_from"),
            merges=list(report.get("merges") or []),
        )


class LifecycleRunList(BaseModel):
    items: list[LifecycleRunRead]


@router.post(
    "/lifecycle/runs", status_code=status.HTTP_201_CREATED, response_model=LifecycleRunRead
)
def start_run(body: LifecycleRunCreate, state: State) -> LifecycleRunRead:
    """Run the lifecycle now and return the recorded run (409 while another runner works)."""
    if body.tenant is not None:
        tenant_by_name(state, body.tenant)
    run = run_for_app(state, trigger="admin", tenant=body.tenant, dry_run=body.dry_run)
    if run.status == "skipped":
        raise Conflict("Another lifecycle runner is working; try again later.", run_id=str(run.id))
    return LifecycleRunRead.of(run)


@router.get("/lifecycle/runs", response_model=LifecycleRunList)
def list_runs(
    state: State,
    limit: int = Query(50, ge=1, le=500),
    tenant: str | None = Query(None, max_length=100),
) -> LifecycleRunList:
    """Recorded runs, newest first."""
    with state.sessions() as session:
        runs = LifecycleRunRepository(session).recent(limit=limit, tenant=tenant)
    return LifecycleRunList(items=[LifecycleRunRead.of(r) for r in runs])


@router.get("/lifecycle/runs/{run_id}", response_model=LifecycleRunRead)
def get_run(run_id: uuid.UUID, state: State) -> LifecycleRunRead:
    with state.sessions() as session:
        run = LifecycleRunRepository(session).get(run_id)
    if run is None:
        raise NotFound(f"No lifecycle run {run_id}.")
    return LifecycleRunRead.of(run)


@router.get("/tenants/{name}/lifecycle-policy")
def get_policy(name: str, state: State) -> dict[str, Any]:
    """The tenant's effective lifecycle policy (its stored settings over the defaults)."""
    tenant = tenant_by_name(state, name)
    return policy_to_mapping(policy_from_mapping(tenant.policy))


@router.put("/tenants/{name}/lifecycle-policy")
def put_policy(name: str, body: dict[str, Any], state: State) -> dict[str, Any]:
    """Replace the tenant's policy; omitted keys keep their defaults (docs/lifecycle.md)."""
    try:
        policy = policy_from_mapping(body)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="policy") from exc
    with unit_of_work(state.sessions) as session:
        tenant = TenantRepository(session).by_name(name)
        if tenant is None:
            raise NotFound(f"No tenant named {name!r}.")
        tenant.policy = body
    return policy_to_mapping(policy)
