"""The REST API's request and response models (the SDK mirrors these)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from storage.models import Memory

MAX_METADATA_BYTES = 16_384
MAX_METADATA_DEPTH = 5
MAX_CONTENT_CHARS = 32_000
MAX_BATCH = 500
MAX_SEARCH_LIMIT = 100
Scalar = str | int | float | bool


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > MAX_METADATA_DEPTH:
        raise ValueError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")
    if any(len(k) > 128 or not k for k in value):
        raise ValueError("metadata keys must be 1 to 128 characters")
    return value


def check_content(value: str) -> str:
    if not value.strip():
        raise ValueError("content must not be empty or only whitespace")
    if "\x00" in value:
        raise ValueError("content must not contain NUL characters")
    return value


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]
Content = Annotated[
    str, Field(min_length=1, max_length=MAX_CONTENT_CHARS), AfterValidator(check_content)
]
ScopeId = Annotated[str, Field(min_length=1, max_length=255)]
Timestamp = Annotated[datetime, AfterValidator(as_utc)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryCreate(Strict):
    content: Content
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    metadata: Metadata = Field(default_factory=dict)
    occurred_at: Timestamp | None = None
    importance: float = Field(0.5, ge=0.0, le=1.0)
    pinned: bool = False


class MemoryBatchCreate(Strict):
    memories: list[MemoryCreate] = Field(min_length=1, max_length=MAX_BATCH)


class MemoryUpdate(Strict):
    content: Content | None = None
    metadata: Metadata | None = None
    occurred_at: Timestamp | None = None
    importance: float | None = Field(None, ge=0.0, le=1.0)
    pinned: bool | None = None
    version: int | None = Field(
        None,
        ge=1,
        description="Expected current version (optimistic concurrency); 409 if it moved on.",
    )


class MemoryRead(BaseModel):
    id: uuid.UUID
    content: str
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    importance: float
    pinned: bool
    access_count: int
    last_accessed_at: datetime | None
    strength: float
    tier: str
    version: int
    superseded_by: uuid.UUID | None = None
    """Set when the lifecycle consolidated this memory into another (which search returns)."""

    @classmethod
    def of(cls, row: Memory) -> MemoryRead:
        return cls(**memory_fields(row))


def memory_fields(row: Memory) -> dict[str, Any]:
    """A memory row's client-visible fields: the API's shape, and the core of an export line."""
    return {
        "id": row.id,
        "content": row.content,
        "user_id": row.user_id,
        "agent_id": row.agent_id,
        "session_id": row.session_id,
        "metadata": row.meta or {},
        "occurred_at": row.occurred_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "importance": row.importance,
        "pinned": row.pinned,
        "access_count": row.access_count,
        "last_accessed_at": row.last_accessed_at,
        "strength": row.strength,
        "tier": row.tier,
        "version": row.version,
        "superseded_by": row.superseded_by,
    }


class MemoryBatchRead(BaseModel):
    ids: list[uuid.UUID]
    memories: list[MemoryRead]


class MemoryPage(BaseModel):
    items: list[MemoryRead]
    next_cursor: str | None


class MemoryEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    memory_id: uuid.UUID
    event: str
    version: int
    changes: dict[str, Any]
    actor: str
    created_at: datetime


class MemoryHistory(BaseModel):
    memory_id: uuid.UUID
    events: list[MemoryEventRead]


class MemoryLinkRead(BaseModel):
    """``consolidates``: ``memory_id`` merged ``other_id``. ``contradicts``: ``memory_id`` (newer)
    states another value for the same entity and attribute than ``other_id`` (older)."""

    model_config = ConfigDict(from_attributes=True)

    relation: str
    memory_id: uuid.UUID
    other_id: uuid.UUID
    detail: dict[str, Any]
    created_at: datetime


class MemoryLinks(BaseModel):
    memory_id: uuid.UUID
    links: list[MemoryLinkRead]


class SearchRequest(Strict):
    query: Annotated[str, Field(min_length=1, max_length=4000)]
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    filters: dict[str, Scalar] = Field(
        default_factory=dict, description="Metadata equality filters."
    )
    limit: int = Field(10, ge=1, le=MAX_SEARCH_LIMIT)
    reference_time: Timestamp | None = None
    channels: list[str] | None = Field(None, min_length=1)
    weights: dict[str, Annotated[float, Field(ge=0, le=100)]] | None = None
    explain: bool = False

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty or only whitespace")
        return value


class ChannelRankRead(BaseModel):
    rank: int
    score: float


class SearchHit(BaseModel):
    memory: MemoryRead
    score: float
    channels: dict[str, ChannelRankRead]
    explanation: dict[str, dict[str, Any]] | None = None


class SearchResponse(BaseModel):
    results: list[SearchHit]
    timings_ms: dict[str, float]
    missing_channels: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, float] | None = None


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
