"""Request and response models of the admin API (the SDK's ``admin`` models mirror these)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from service.schemas import Strict
from service.validation import NO_NUL, ScopeId

TenantName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Letters, digits, '_', '.', '-'; tenants are addressed by name in paths.",
    ),
]


class TenantCreate(Strict):
    name: TenantName


class TenantRead(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    memories: int


class TenantList(BaseModel):
    items: list[TenantRead]


Scope = Literal["read", "write", "delete"]
ALL: tuple[Scope, ...] = ("read", "write", "delete")


class RateLimit(Strict):
    """A token bucket: ``per_second`` sustained, ``burst`` at once."""

    per_second: float = Field(gt=0, le=1_000_000, description="Requests per second, sustained.")
    burst: int | None = Field(
        None, ge=1, le=1_000_000, description="Requests at once; default: per_second rounded up."
    )


class ApiKeyCreate(Strict):
    name: str = Field("", max_length=100, pattern=NO_NUL)
    scopes: list[Scope] = Field(
        default_factory=lambda: list(ALL),
        min_length=1,
        max_length=3,
        description="What the key may do: read (get, list, history, links, search), "
        "write (create, batch, patch), delete. Default: all three.",
    )
    user_id: ScopeId | None = Field(
        None, description="Bind the key to this user: it reaches only this user's memories."
    )
    agent_id: ScopeId | None = Field(
        None, description="Bind the key to this agent: it reaches only this agent's memories."
    )
    rate_limit: RateLimit | None = Field(
        None, description="This key's rate limit; default: the server's (MNEMONIX_RATE_LIMIT__*)."
    )

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("scopes must not repeat")
        return value


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scopes: list[Scope]
    user_id: str | None
    agent_id: str | None
    rate_limit: RateLimit | None = Field(
        description="The key's own limit; null: the server's default applies."
    )


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret. Shown once: only its hash is stored.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]


class ReindexRequest(Strict):
    tenant: str | None = Field(None, description="One tenant by name; all tenants if omitted.")


class ReindexRead(BaseModel):
    tenants: list[str]
    memories: int
    duration_ms: float


class ImportRead(BaseModel):
    imported: int
    skipped: int


class TenantStats(BaseModel):
    name: str
    id: uuid.UUID
    memories: int
    tiers: dict[str, int]


class TierStats(BaseModel):
    memories: int
    bytes: int = Field(description="Stored (quantized) embedding bytes.")


class IndexStats(BaseModel):
    bytes: int
    entries: int


class ChannelHealth(BaseModel):
    healthy: bool
    p50_ms: float | None
    p95_ms: float | None
    searches: int
    failures: int


class LifecycleRunSummary(BaseModel):
    """One lifecycle run, as listed by ``GET /v1/admin/lifecycle/runs``."""

    id: uuid.UUID
    status: str
    dry_run: bool
    tenant: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    examined: int = 0
    changed: int = 0
    moves: dict[str, int] = Field(default_factory=dict)
    merged: int = 0
    contradictions: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    error: str | None = None


class LifecycleStats(BaseModel):
    runs: list[LifecycleRunSummary]


class Totals(BaseModel):
    memories: int
    tenants: int


class StatsRead(BaseModel):
    tenants: list[TenantStats]
    tiers: dict[str, TierStats]
    indexes: dict[str, IndexStats]
    channels: dict[str, ChannelHealth]
    lifecycle: LifecycleStats
    totals: Totals
