"""The one place a new memory row is built: the write path, the import and consolidation.

Every column is set (no ORM default is relied on), so a row built here can go through the
ORM or a Core ``insert`` alike (``as_columns``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import Memory
from storage.records import content_hash


@dataclass(frozen=True, slots=True)
class StoredEmbedding:
    """A quantized embedding as stored: payload, precision, scale, model and dimension."""

    payload: bytes
    bits: int
    scale: float
    model: str
    dim: int


NO_EMBEDDING = StoredEmbedding(b"", 8, 1.0, "", 0)

# (column name, attribute name) of every memory column: "metadata" is the ``meta`` attribute
MEMORY_COLUMNS = [
    (column.name, attr.key) for attr in Memory.__mapper__.column_attrs for column in attr.columns
]


def new_memory(
    *,
    tenant_id: uuid.UUID,
    content: str,
    created_at: datetime,
    embedding: StoredEmbedding | None,
    memory_id: uuid.UUID | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    updated_at: datetime | None = None,
    importance: float = 0.5,
    pinned: bool = False,
    access_count: int = 0,
    last_accessed_at: datetime | None = None,
    strength: float = 1.0,
    stability: float = 1.0,
    tier: str = "hot",
    version: int = 1,
    superseded_by: uuid.UUID | None = None,
    replaced_by: uuid.UUID | None = None,
    superseded_at: datetime | None = None,
    valid_until: datetime | None = None,
    expires_at: datetime | None = None,
) -> Memory:
    """A new memory row with every column set; ``occurred_at`` and ``updated_at`` default
    to ``created_at``. ``embedding=None`` leaves the row without a vector (to embed later)."""
    code = embedding or NO_EMBEDDING
    return Memory(
        id=memory_id or uuid.uuid4(),
        tenant_id=tenant_id,
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        content=content,
        content_hash=content_hash(content),
        meta=dict(metadata or {}),
        occurred_at=occurred_at or created_at,
        created_at=created_at,
        updated_at=updated_at or created_at,
        importance=importance,
        pinned=pinned,
        access_count=access_count,
        last_accessed_at=last_accessed_at,
        strength=strength,
        stability=stability,
        tier=tier,
        embedding=code.payload if embedding is not None else None,
        embedding_bits=code.bits,
        embedding_scale=code.scale,
        embedding_model=code.model,
        embedding_dim=code.dim,
        version=version,
        superseded_by=superseded_by,
        replaced_by=replaced_by,
        superseded_at=superseded_at,
        valid_until=valid_until,
        expires_at=expires_at,
    )


def as_columns(row: Memory) -> dict[str, Any]:
    """The row as ``memory`` column values (``metadata``, not ``meta``), for Core inserts."""
    return {name: getattr(row, key) for name, key in MEMORY_COLUMNS}
