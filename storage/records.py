"""Plain values passed between storage and the layers above it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class MemoryFilter:
    """Which memories of a tenant: scope, metadata equality and an ``occurred_at`` range."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Scalar] = field(default_factory=dict)
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Keyset position: the last row seen, in (created_at, id) order."""

    created_at: datetime
    id: uuid.UUID


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


KEY_SCOPES = ("read", "write", "delete")
"""What a tenant key may do: ``read`` (get, list, history, links, search), ``write`` (create,
batch, patch) and ``delete``."""
ALL_SCOPES = " ".join(KEY_SCOPES)
"""How ``api_key.scopes`` stores them: space-separated, as OAuth does."""
