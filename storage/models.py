"""SQLAlchemy models: the source of truth every index is rebuilt from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.records import ALL_SCOPES
from storage.types import BigIntPK, JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    __tablename__ = "tenant"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    scopes: Mapped[str] = mapped_column(String(64), default=ALL_SCOPES, server_default=ALL_SCOPES)
    """Space-separated, of ``read write delete`` (``storage.records.KEY_SCOPES``)."""
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """Bound to this user: the key reaches only this user's memories."""
    agent_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """Bound to this agent: the key reaches only this agent's memories."""
    rate_per_second: Mapped[float | None] = mapped_column(Float, default=None)
    """Token-bucket refill rate; NULL: the server's default (``MNEMONIX_RATE_LIMIT__*``)."""
    rate_burst: Mapped[int | None] = mapped_column(Integer, default=None)


class Memory(Base):
    __tablename__ = "memory"
    __table_args__ = (
        Index("ix_memory_tenant_user_created", "tenant_id", "user_id", "created_at", "id"),
        Index("ix_memory_tenant_occurred", "tenant_id", "occurred_at"),
        Index("ix_memory_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_memory_tenant_hash", "tenant_id", "content_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(255))
    agent_id: Mapped[str | None] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    importance: Mapped[float] = mapped_column(Float, default=0.5)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    last_accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # lifecycle: strength in [0, 1], stability S in days (the forgetting curve's time constant)
    strength: Mapped[float] = mapped_column(Float, default=1.0)
    stability: Mapped[float] = mapped_column(Float, default=1.0)
    tier: Mapped[str] = mapped_column(String(16), default="hot")
    # the embedding, quantized (storage.quantization): bits 8 / 4 / 1, per-vector scale
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    embedding_bits: Mapped[int] = mapped_column(SmallInteger, default=8)
    embedding_scale: Mapped[float] = mapped_column(Float, default=1.0)
    embedding_model: Mapped[str] = mapped_column(String(100), default="")
    embedding_dim: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # consolidation: a source merged into a consolidated memory points at it; it stays readable
    # by id and through history, and is served in search by the consolidated memory.
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)

    __mapper_args__ = {"version_id_col": version}


class MemoryEvent(Base):
    """History: created / updated / deleted (a tombstone without content) and lifecycle moves.

    Also the change feed other processes follow (``storage/repositories/feed.py``).
    """

    __tablename__ = "memory_event"
    __table_args__ = (
        Index("ix_memory_event_memory", "tenant_id", "memory_id", "id"),
        Index("ix_memory_event_xact", "xact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    memory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(100), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    xact_id: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())
    """PostgreSQL: the writing transaction's ``pg_current_xact_id()`` (xid8 as bigint), set by
    the column default (migration 0003). SQLite: NULL (one writer at a time)."""


class MemoryLink(Base):
    """A relation between two memories of one tenant, written by the lifecycle job.

    ``consolidates``: ``memory_id`` is a consolidated memory, ``other_id`` one of its sources.
    ``contradicts``: ``memory_id`` (newer) states a different value for the same entity and
    attribute than ``other_id`` (older); ``detail`` names them.
    """

    __tablename__ = "memory_link"
    __table_args__ = (
        Index("ix_memory_link_tenant_memory", "tenant_id", "memory_id"),
        Index("ix_memory_link_tenant_other", "tenant_id", "other_id"),
        UniqueConstraint("memory_id", "other_id", "relation"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    memory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    other_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    relation: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LifecycleRun(Base):
    """One lifecycle run: what it did, how long it took, and where it got to (for resuming)."""

    __tablename__ = "lifecycle_run"
    __table_args__ = (Index("ix_lifecycle_run_started", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str | None] = mapped_column(String(100), default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(32), default="schedule")
    runner: Mapped[str] = mapped_column(String(200), default="")
    clock: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """The ``now`` the run decays against (a simulated clock in benchmarks)."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cursor: Mapped[str | None] = mapped_column(String(100), default=None)
    """``<tenant id>/<memory id>``: the last memory whose batch committed."""
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class RunnerLease(Base):
    """A named lease: the cross-process lock on SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "runner_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
