"""Typed responses (they mirror the server's schemas; unknown fields are kept, not lost)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

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
    superseded_by: uuid.UUID | None = None
    """The memory that now stands for this one: a newer memory that replaced it, or the
    consolidated memory the lifecycle merged it into."""
    superseded_at: datetime | None = None
    """When the store learnt this memory was replaced."""
    valid_until: datetime | None = None
    """The end of its valid time: the successor's ``occurred_at``."""
    expires_at: datetime | None = None
    """When it expires (then every read leaves it out and the lifecycle erases it)."""


class MemoryPage(_Model):
    items: list[Memory]
    next_cursor: str | None = None


class MemoryLink(_Model):
    """``consolidates``: ``memory_id`` merged ``other_id``; ``contradicts``: ``memory_id``
    (newer) states another value than ``other_id`` (older) for ``detail['attribute']``."""

    relation: str
    memory_id: uuid.UUID
    other_id: uuid.UUID
    detail: dict[str, Any] = {}
    created_at: datetime


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
    relevance: float = 0.0
    """Estimated probability that the memory is relevant to the query."""
    channels: dict[str, ChannelRank]
    explanation: dict[str, dict[str, Any]] | None = None


class SearchResult(_Model):
    results: list[SearchHit]
    timings_ms: dict[str, float]
    missing_channels: dict[str, str] = {}
    weights: dict[str, float] | None = None
    tokens: int | None = None
    """With ``max_tokens``: the returned contents' token count."""
    adaptation: dict[str, Any] | None = None
    """With ``explain``: the query's form, why weights moved, what feedback added."""


class ContextOmitted(_Model):
    duplicates: int = 0
    superseded: int = 0
    over_budget: int = 0


class ContextBlock(_Model):
    """``POST /v1/context``: ``context`` is the block to paste into a prompt."""

    context: str
    memory_ids: list[uuid.UUID]
    tokens: int
    """The block's token count by ``tokenizer``; never above ``max_tokens``."""
    max_tokens: int
    format: Literal["text", "markdown", "json"]
    tokenizer: str
    omitted: ContextOmitted
    hits: list[SearchHit] | None = None
