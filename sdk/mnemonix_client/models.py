"""Typed responses (they mirror the server's schemas; unknown fields are kept, not lost)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Memory(_Model):
    id: uuid.UUID
    content: str
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = {}
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    importance: float
    pinned: bool
    access_count: int
    last_accessed_at: datetime | None = None
    strength: float
    tier: str
    version: int


class MemoryPage(_Model):
    items: list[Memory]
    next_cursor: str | None = None


class MemoryEvent(_Model):
    id: int
    memory_id: uuid.UUID
    event: str
    version: int
    changes: dict[str, Any]
    actor: str
    created_at: datetime


class ChannelRank(_Model):
    rank: int
    score: float


class SearchHit(_Model):
    memory: Memory
    score: float
    channels: dict[str, ChannelRank]
    explanation: dict[str, dict[str, Any]] | None = None


class SearchResult(_Model):
    results: list[SearchHit]
    timings_ms: dict[str, float]
    missing_channels: dict[str, str] = {}
    weights: dict[str, float] | None = None
