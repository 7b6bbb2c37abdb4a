"""The erasure flush never makes the API queue behind it for long: held up by an open
transaction (SQLite: a read older than the delete; PostgreSQL: a lock on a text table), it
gives up after its wait and reports the flush incomplete; once that transaction ends, it
completes."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Memory
from storage.repositories import TenantRepository
from storage.repositories.erasure import ERASED_TABLES, flush_erased
from storage.types import utcnow


def _memory(tenant_id: uuid.UUID) -> Memory:
    now = utcnow()
    return Memory(
        tenant_id=tenant_id, content="to be erased", content_hash="h", meta={}, occurred_at=now,
        created_at=now, updated_at=now, importance=0.5, pinned=False, access_count=0,
        strength=1.0, stability=1.0, tier="hot", embedding_bits=8, embedding_scale=1.0,
        embedding_model="", embedding_dim=0, version=1,
    )  # fmt: skip


def test_flush_gives_up_behind_an_open_transaction_then_completes(database_url: str) -> None:
    engine = build_engine(database_url)
    sessions = build_sessionmaker(engine)
    try:
        with unit_of_work(sessions) as session:
            tenant = TenantRepository(session).add("acme")
            session.add_all([_memory(tenant.id), _memory(tenant.id)])
        # a reader (an export batch, a long search) opens its snapshot before the delete
        reader = engine.connect()
        transaction = reader.begin()
        reader.execute(select(Memory.id)).all()
        with unit_of_work(sessions) as session:
            session.delete(session.scalars(select(Memory)).first())
        held = flush_erased(engine, wait_ms=300)
        assert not held.complete
        assert held.duration_ms < 5000
        transaction.rollback()
        reader.close()
        # other sessions of the cluster (other databases' long transactions) can hold it too
        done = flush_erased(engine, wait_ms=60_000)
        assert done.complete
        if engine.dialect.name == "postgresql":
            assert done.tables == ERASED_TABLES
    finally:
        engine.dispose()
