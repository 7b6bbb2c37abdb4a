"""Multi-row writers lock memories in id order, so they cannot deadlock each other on
PostgreSQL (the 10-minute soak found the lifecycle and the access flush doing so: 6 of 7
lifecycle runs answered 500). And a flush that fails keeps its counts for the next one."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select, update

from service.access import AccessTracker
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Memory
from storage.repositories import TenantRepository
from storage.types import utcnow


def _memory(tenant_id: uuid.UUID, memory_id: uuid.UUID) -> Memory:
    now = utcnow()
    return Memory(
        id=memory_id, tenant_id=tenant_id, content="x", content_hash="h", meta={},
        occurred_at=now, created_at=now, updated_at=now, importance=0.5, pinned=False,
        access_count=0, strength=1.0, stability=1.0, tier="hot", embedding_bits=8,
        embedding_scale=1.0, embedding_model="", embedding_dim=0, version=1,
    )  # fmt: skip


def test_access_flush_and_an_id_ordered_writer_do_not_deadlock(database_url: str) -> None:
    engine = build_engine(database_url)
    sessions = build_sessionmaker(engine)
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    try:
        with unit_of_work(sessions) as session:
            tenant_id = TenantRepository(session).add("acme").id
            session.add_all([_memory(tenant_id, low), _memory(tenant_id, high)])
        tracker = AccessTracker(sessions)
        tracker.record(tenant_id, [high, low])  # found in this order by a search
        errors: list[BaseException] = []

        def flush() -> None:
            try:
                tracker.flush()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        # a writer that locks in id order (a lifecycle batch): low, then high
        with unit_of_work(sessions) as session:
            session.execute(update(Memory).where(Memory.id == low).values(strength=0.5))
            flusher = threading.Thread(target=flush)
            flusher.start()
            time.sleep(0.5)  # the flush now waits for low (or, unordered, holds high)
            if engine.dialect.name == "sqlite":  # one writer at a time: nothing to race
                pass
            else:
                session.execute(update(Memory).where(Memory.id == high).values(strength=0.5))
        flusher.join(timeout=30)
        assert not errors, errors
        with sessions() as session:
            counts = dict(session.execute(select(Memory.id, Memory.access_count)).all())
        assert counts == {low: 1, high: 1}
    finally:
        engine.dispose()


def test_a_failed_access_flush_keeps_its_counts(database_url: str) -> None:
    engine = build_engine(database_url)
    sessions = build_sessionmaker(engine)
    memory_id = uuid.uuid4()
    try:
        with unit_of_work(sessions) as session:
            tenant_id = TenantRepository(session).add("acme").id
            session.add(_memory(tenant_id, memory_id))
        tracker = AccessTracker(sessions)
        tracker.record(tenant_id, [memory_id, memory_id])
        engine.dispose()
        broken = AccessTracker(build_sessionmaker(build_engine("sqlite:////nonexistent/x.db")))
        broken.record(tenant_id, [memory_id])
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure of the write
            broken.flush()
        assert broken._pending == {tenant_id: Counter({memory_id: 1})}
        assert tracker.flush() == 1
        with sessions() as session:
            assert session.get(Memory, memory_id).access_count == 2  # type: ignore[union-attr]
    finally:
        engine.dispose()
