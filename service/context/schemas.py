"""``POST /v1/context``: request and response."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from service.schemas import (
    MAX_CONTEXT_TOKENS,
    MAX_SEARCH_LIMIT,
    ScopedQuery,
    SearchHit,
)

MaxTokens = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=MAX_CONTEXT_TOKENS,
        description=(
            "Token budget, counted with the all-MiniLM-L6-v2 WordPiece tokenizer "
            "(docs/integrations.md#context-blocks): an approximation of an LLM's count."
        ),
    ),
]


class ContextRequest(ScopedQuery):
    max_tokens: MaxTokens
    format: Literal["text", "markdown", "json"] = "text"
    candidates: Annotated[StrictInt, Field(ge=1, le=MAX_SEARCH_LIMIT)] = Field(
        30, description="How many search hits are considered before the budget is applied."
    )
    include_hits: StrictBool = Field(
        False, description="Also return the search hits behind the block (best-ranked first)."
    )


class ContextOmitted(BaseModel):
    duplicates: int = 0
    """Near-identical to a better-ranked memory."""
    superseded: int = 0
    """Replaced: consolidated into another memory, or superseded by a newer one."""
    over_budget: int = 0
    """Relevant, but did not fit in ``max_tokens``."""


class ContextResponse(BaseModel):
    context: str
    """The block: grouped by session (or day), chronological, one memory per line."""
    memory_ids: list[uuid.UUID]
    """The memories in the block, best-ranked first."""
    tokens: int
    """The block's token count by ``tokenizer``; never above ``max_tokens``."""
    max_tokens: int
    format: Literal["text", "markdown", "json"]
    tokenizer: str
    omitted: ContextOmitted
    timings_ms: dict[str, float] = Field(default_factory=dict)
    """``search`` (the fused search, as in its own ``timings_ms.total``), ``assemble`` (leaving
    out, marking, counting, rendering) and ``total``."""
    hits: list[SearchHit] | None = None
    """With ``include_hits``: the memories in the block as search hits, best-ranked first."""
