"""Seeding memories straight into SQL for the lifecycle tests (hash embedder vectors)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from channels.embedder_hash import HashEmbedder
from storage.db import unit_of_work
from storage.models import Memory, Tenant
from storage.quantization import encode
from storage.records import content_hash
from storage.types import utcnow

EMBEDDER = HashEmbedder(dimension=64)


def seed(
    sessions: sessionmaker[Session],
    texts: list[str],
    *,
    tenant: str = "t",
    user_id: str | None = "u1",
    created: datetime | None = None,
    vectors: Any = None,
    **fields: Any,
) -> list[uuid.UUID]:
    created = created or utcnow() - timedelta(days=1)
    vectors = EMBEDDER.embed(texts) if vectors is None else vectors
    ids: list[uuid.UUID] = []
    with unit_of_work(sessions) as session:
        row = session.query(Tenant).filter_by(name=tenant).one_or_none()
        if row is None:
            row = Tenant(name=tenant, policy={})
            session.add(row)
            session.flush()
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            code = encode(vector, 8)
            memory = Memory(
                tenant_id=row.id,
                user_id=user_id,
                content=text,
                content_hash=content_hash(text),
                meta={},
                occurred_at=created + timedelta(seconds=i),
                created_at=created + timedelta(seconds=i),
                updated_at=created,
                importance=0.5,
                embedding=code.payload,
                embedding_scale=code.scale,
                embedding_bits=8,
                embedding_model=EMBEDDER.model_name,
                embedding_dim=EMBEDDER.dimension,
                **fields,
            )
            session.add(memory)
            session.flush()
            ids.append(memory.id)
    return ids
