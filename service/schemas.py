"""The REST API's request and response models (the SDK mirrors these)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from channels.registry import channel_names
from service.privacy.policy import TtlSeconds
from service.validation import (
    NOT_BLANK,
    NOT_BLANK_RE,
    Content,
    Metadata,
    MetadataFilters,
    ScopeId,
    Timestamp,
    as_utc,
)
from storage.models import Memory, MemoryLink

__all__ = ["Content", "Metadata", "ScopeId", "Timestamp", "as_utc"]


def check_channel(name: str) -> str:
    if name not in channel_names():
        raise ValueError(f"unknown channel; known: {', '.join(channel_names())}")
    return name


MAX_BATCH = 500
MAX_SEARCH_LIMIT = 100
MAX_QUERY_CHARS = 16_000
"""Room for a whole dialogue history as the query (``channels.query_plan``)."""
MAX_CONTEXT_TOKENS = 128_000
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A JSON number (an integer is fine): never a string, a boolean, NaN or Infinity."""
ChannelName = Annotated[
    str,
    AfterValidator(check_channel),
    WithJsonSchema({"type": "string", "enum": list(channel_names())}),
]


class Strict(BaseModel):
    """A request body: unknown fields are an error, and no float may be NaN or Infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Importance = Annotated[Number, Field(ge=0.0, le=1.0)]
EXPIRES_AT = (
    "When the memory expires (RFC 3339, in the future): from then on it is gone for every "
    "read, and the lifecycle erases it. Not with `ttl_seconds`."
)
TTL_SECONDS = "Expire this many seconds after the write (instead of `expires_at`)."


def _one_expiry(model: Any) -> Any:
    if model.expires_at is not None and model.ttl_seconds is not None:
        raise ValueError("expires_at and ttl_seconds are mutually exclusive: send one")
    return model


MAX_SUPERSEDES = 100
Supersedes = Annotated[
    list[uuid.UUID],
    Field(
        max_length=MAX_SUPERSEDES,
        description=(
            "Ids of memories (of this tenant) this one replaces: they stay readable with "
            "their history, get superseded_by / superseded_at and leave default recall."
        ),
    ),
]


class MemoryCreate(Strict):
    content: Content
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    metadata: Metadata = Field(default_factory=dict)
    occurred_at: Timestamp | None = None
    importance: Importance = 0.5
    pinned: StrictBool = False
    expires_at: Timestamp | None = Field(None, description=EXPIRES_AT)
    ttl_seconds: TtlSeconds | None = Field(None, description=TTL_SECONDS)
    supersedes: Supersedes = Field(default_factory=list)

    _check_expiry = model_validator(mode="after")(_one_expiry)


class MemoryBatchCreate(Strict):
    memories: list[MemoryCreate] = Field(min_length=1, max_length=MAX_BATCH)


def _omit_not_null(schema: JsonDict) -> None:
    """Every field of a patch may be omitted but is never null: say so in the schema."""
    properties = schema.get("properties")
    assert isinstance(properties, dict)
    for prop in properties.values():
        assert isinstance(prop, dict)
        variants = prop.pop("anyOf", None)
        if isinstance(variants, list):
            kept = [v for v in variants if v != {"type": "null"}]
            only = kept[0] if len(kept) == 1 else None
            prop.update(only if isinstance(only, dict) else {"anyOf": kept})
        prop.pop("default", None)
    # expires_at alone may be null: it clears the expiry
    properties["expires_at"] = {
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
        "description": "A new expiry (RFC 3339, in the future), or null: never expires.",
    }


class MemoryUpdate(Strict):
    """Send only the fields to change; a field sent as null is an error."""

    model_config = ConfigDict(json_schema_extra=_omit_not_null)

    content: Content | None = None
    metadata: Metadata | None = None
    occurred_at: Timestamp | None = None
    importance: Importance | None = None
    pinned: StrictBool | None = None
    expires_at: Timestamp | None = None
    ttl_seconds: TtlSeconds | None = Field(None, description=TTL_SECONDS)
    supersedes: Supersedes | None = Field(
        None, description="Ids this memory (also) replaces; adds to what it replaced before."
    )
    version: Annotated[StrictInt, Field(ge=1)] | None = Field(
        None,
        description="Expected current version (optimistic concurrency); 409 if it moved on.",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # defaults are not validated, so only a null the client sent lands here
        if value is None and info.field_name != "expires_at":
            raise ValueError("may be omitted but not set to null")
        return value

    _check_expiry = model_validator(mode="after")(_one_expiry)


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
    """The memory that now stands for this one: a newer memory that replaced it
    (``superseded_at`` set too), or the consolidated memory the lifecycle merged it into."""
    superseded_at: datetime | None = None
    """When the store learnt this memory was replaced (it then left default recall)."""
    valid_until: datetime | None = None
    """The end of this memory's valid time: its successor's ``occurred_at``."""
    expires_at: datetime | None = None
    """When it expires (then it leaves every read and the lifecycle erases it); null: never."""

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
        "superseded_by": row.replaced_by or row.superseded_by,
        "superseded_at": row.superseded_at,
        "valid_until": row.valid_until,
        "expires_at": row.expires_at,
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


class SupersessionRead(BaseModel):
    """``memory_id`` replaces ``other_id``. ``kind``: ``explicit`` (a write's ``supersedes``)
    or ``detected`` (``detail`` names subject, attribute, value and previous value);
    ``dismissed`` once a client undid a detected one."""

    id: int
    memory_id: uuid.UUID
    other_id: uuid.UUID
    kind: str
    source: str
    dismissed: bool
    detail: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, link: MemoryLink) -> SupersessionRead:
        detail = dict(link.detail or {})
        return cls(
            id=link.id,
            memory_id=link.memory_id,
            other_id=link.other_id,
            kind=str(detail.get("kind", "explicit")),
            source=str(detail.get("source", "write")),
            dismissed=link.relation == "dismissed",
            detail=detail,
            created_at=link.created_at,
        )


class SupersessionPage(BaseModel):
    items: list[SupersessionRead]
    next_cursor: str | None


class ScopedQuery(Strict):
    """A query and the scope it reads: what search and the context block share."""

    query: Annotated[
        str,
        Field(min_length=1, max_length=MAX_QUERY_CHARS, json_schema_extra={"pattern": NOT_BLANK}),
    ]
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    filters: MetadataFilters = Field(default_factory=dict)
    reference_time: Timestamp | None = None

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not NOT_BLANK_RE.match(value):
            raise ValueError("query must contain a non-whitespace character and no NUL")
        return value


class SearchRequest(ScopedQuery):
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_SEARCH_LIMIT)] = 10
    channels: list[ChannelName] | None = Field(None, min_length=1)
    weights: dict[ChannelName, Annotated[Number, Field(ge=0, le=100)]] | None = None
    explain: StrictBool = False
    max_tokens: Annotated[StrictInt, Field(ge=1, le=MAX_CONTEXT_TOKENS)] | None = Field(
        None,
        description=(
            "Return only the best hits whose contents together fit this many tokens "
            "(counted as for POST /v1/context)."
        ),
    )
    include_superseded: StrictBool = Field(
        False,
        description=(
            "Also return superseded memories, each ranked right below the memory that "
            "replaced it (the chain), marked by superseded_by."
        ),
    )
    as_of: Timestamp | None = Field(
        None,
        description=(
            "Valid time: what was current at this time (a memory is valid from its "
            "occurred_at until its successor's occurred_at)."
        ),
    )
    known_at: Timestamp | None = Field(
        None,
        description=(
            "Transaction time: what the store knew then (created before it, not yet "
            "superseded at it). Deleted memories are gone for good and never return."
        ),
    )
    min_relevance: Annotated[Number, Field(ge=0, le=1)] = 0.0
    """Only hits whose ``relevance`` is at least this; an empty list when nothing is."""


class ChannelRankRead(BaseModel):
    rank: int
    score: float


class SearchHit(BaseModel):
    memory: MemoryRead
    score: float
    relevance: float = Field(ge=0, le=1)
    """Estimated probability that the memory is relevant to the query (calibrated on LoCoMo)."""
    channels: dict[str, ChannelRankRead]
    explanation: dict[str, dict[str, Any]] | None = None


class SearchResponse(BaseModel):
    results: list[SearchHit]
    timings_ms: dict[str, float]
    missing_channels: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, float] | None = None
    tokens: int | None = None
    """With ``max_tokens``: the returned contents' token count."""
    adaptation: dict[str, Any] | None = None
    """With ``explain``: the query's form and parts, why each channel's weight moved from its
    default, and what the feedback pass added (expansion terms, neighbouring turns)."""


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
