"""Typed responses of the admin API (``/v1/admin``). Unknown fields are kept, not lost."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Tenant(_Model):
    id: uuid.UUID
    name: str
    created_at: datetime
    memories: int = 0


class KeyRateLimit(_Model):
    """A key's token bucket: ``per_second`` sustained, ``burst`` at once (``None``: the
    rate rounded up)."""

    per_second: float
    burst: int | None = None


class ApiKey(_Model):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    scopes: list[str] = Field(default_factory=lambda: ["read", "write", "delete"])
    """Of ``read``, ``write``, ``delete``."""
    user_id: str | None = None
    """The user the key is bound to (it reaches only that user's memories)."""
    agent_id: str | None = None
    """The agent the key is bound to."""
    rate_limit: KeyRateLimit | None = None
    """The key's own rate limit; ``None``: the server's default."""


class CreatedApiKey(ApiKey):
    key: str
    """The secret. The server returns it once and keeps only its hash: store it now."""


class TenantStats(_Model):
    name: str
    id: uuid.UUID
    memories: int
    tiers: dict[str, int]


class TierStats(_Model):
    memories: int
    bytes: int


class IndexStats(_Model):
    bytes: int
    entries: int


class ChannelHealth(_Model):
    healthy: bool
    p50_ms: float | None = None
    p95_ms: float | None = None
    searches: int = 0
    failures: int = 0


class LifecycleRun(_Model):
    """A recorded lifecycle run (``status``: running, completed, failed, interrupted, skipped)."""

    id: uuid.UUID
    status: str
    dry_run: bool = False
    tenant: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: float | None = None
    examined: int = 0
    changed: int = 0
    moves: dict[str, int] = Field(default_factory=dict)
    merged: int = 0
    contradictions: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    error: str | None = None


class LifecycleStats(_Model):
    runs: list[LifecycleRun] = Field(default_factory=list)


class Totals(_Model):
    memories: int
    tenants: int


class Stats(_Model):
    tenants: list[TenantStats]
    tiers: dict[str, TierStats]
    indexes: dict[str, IndexStats]
    channels: dict[str, ChannelHealth]
    lifecycle: LifecycleStats
    totals: Totals


class ReindexResult(_Model):
    tenants: list[str]
    memories: int
    duration_ms: float


class ImportResult(_Model):
    imported: int
    skipped: int


class ExportedEmbedding(_Model):
    model: str
    dim: int
    bits: int
    scale: float
    data: str
    """base64 of the quantized code."""


class ExportedLink(_Model):
    other_id: uuid.UUID
    relation: str
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class ExportedMemory(_Model):
    """One line of a tenant export (the format is in the server's docs/admin.md)."""

    id: uuid.UUID
    content: str
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    importance: float
    pinned: bool
    access_count: int
    last_accessed_at: datetime | None = None
    strength: float
    stability: float
    tier: str
    version: int
    superseded_by: uuid.UUID | None = None
    embedding: ExportedEmbedding | None = None
    links: list[ExportedLink] = Field(default_factory=list)
