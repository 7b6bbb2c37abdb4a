"""The lifecycle pass on real databases: tiers move, bytes shrink, nothing is lost."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from lifecycle.decay import DecayPolicy
from lifecycle.runner import run_once
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Memory, MemoryEvent, Tenant
from storage.quantization import encode
from storage.types import utcnow


def _seed(url: str) -> tuple[object, list[uuid.UUID]]:
    import numpy as np

    sessions = build_sessionmaker(build_engine(url))
    rng = np.random.default_rng(0)
    ids = []
    created = utcnow() - timedelta(days=1)
    with unit_of_work(sessions) as session:
        tenant = Tenant(name="t", policy={})
        session.add(tenant)
        session.flush()
        for i in range(30):
            v = rng.standard_normal(16).astype("float32")
            code = encode(v / np.linalg.norm(v), 8)
            m = Memory(
                tenant_id=tenant.id,
                content=f"memory number {i} about zebra{i}",
                content_hash=str(i),
                meta={},
                occurred_at=created,
                created_at=created,
                updated_at=created,
                importance=0.0,
                pinned=(i == 0),
                access_count=5 if i == 1 else 0,
                embedding=code.payload,
                embedding_scale=code.scale,
                embedding_bits=8,
                embedding_model="test",
                embedding_dim=16,
            )
            session.add(m)
            session.flush()
            ids.append(m.id)
    return sessions, ids


def test_a_year_of_passes_compresses_without_losing_anything(database_url: str) -> None:
    sessions, ids = _seed(database_url)
    policy = DecayPolicy(half_life_days=30)
    with sessions() as session:  # type: ignore[attr-defined]
        before = {m.id: m.content for m in session.scalars(select(Memory))}

    dry = run_once(sessions, now=utcnow() + timedelta(days=365), policy=policy, dry_run=True)  # type: ignore[arg-type]
    assert dry.changed > 0
    with sessions() as session:  # type: ignore[attr-defined]
        assert {m.tier for m in session.scalars(select(Memory))} == {"hot"}
        assert session.scalars(select(MemoryEvent)).first() is None

    for month in range(1, 13):
        run_once(sessions, now=utcnow() + timedelta(days=30 * month), policy=policy)  # type: ignore[arg-type]
    again = run_once(sessions, now=utcnow() + timedelta(days=360), policy=policy)  # type: ignore[arg-type]
    assert again.changed == 0  # idempotent at the same clock

    with sessions() as session:  # type: ignore[attr-defined]
        rows = {m.id: m for m in session.scalars(select(Memory))}
        assert {i: rows[i].content for i in ids} == before  # nothing lost, text untouched
        assert rows[ids[0]].tier == "hot" and rows[ids[0]].embedding_bits == 8  # pinned
        archived = [m for m in rows.values() if m.tier == "archived"]
        assert len(archived) >= 25
        assert all(m.embedding_bits == 1 and len(m.embedding or b"") == 2 for m in archived)
        assert rows[ids[1]].tier != "archived"  # often retrieved: more stable
        events = session.scalars(select(MemoryEvent).where(MemoryEvent.event == "lifecycle")).all()
        assert events and all(e.actor == "lifecycle" for e in events)
