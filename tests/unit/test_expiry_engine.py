"""The engine leaves expired entries out at search time, exactly: over-fetching past a few
expired keys in an unscoped search, filtering them out of a scope or out of the whole
tenant when many have expired, and at no cost when nothing expires."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest

from channels.catalog import OVERFETCH_MAX
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec
from channels.keyword import KeywordChannel

NOW = datetime(2024, 1, 1, tzinfo=UTC)
T = NOW.timestamp()


def _engine(pool: ThreadPoolExecutor) -> RetrievalEngine:
    return RetrievalEngine({"keyword": KeywordChannel()}, pool=pool, weights={"keyword": 1.0})


@pytest.mark.parametrize("expired_count", [5, OVERFETCH_MAX + 50])
@pytest.mark.parametrize("user_id", [None, "ann"])
def test_expired_entries_never_returned(expired_count: int, user_id: str | None) -> None:
    with ThreadPoolExecutor(2) as pool:
        engine = _engine(pool)
        # the expired entries repeat the query word more often: they would rank first
        expired = [
            IndexEntry(
                id=uuid.uuid4(),
                content="kettle kettle kettle descaling",
                occurred_at=NOW,
                user_id="ann",
                expires=T + 10,
            )
            for _ in range(expired_count)
        ]
        live = [
            IndexEntry(
                id=uuid.uuid4(),
                content=f"kettle note {i}",
                occurred_at=NOW,
                user_id="ann",
                expires=T + 1000 if i % 2 else 0.0,
            )
            for i in range(20)
        ]
        other = IndexEntry(id=uuid.uuid4(), content="kettle", occurred_at=NOW, user_id="bob")
        engine.upsert([*expired, *live, other])
        spec = dict(text="kettle", reference_time=NOW, limit=10, user_id=user_id, depth=10)

        before = engine.search(SearchSpec(**spec, now=T + 10 - 1e-6))  # type: ignore[arg-type]
        top = [h.memory_id for h in before.hits[: min(expired_count, 10)]]
        assert set(top) <= {e.id for e in expired}  # still alive: they rank first

        after = engine.search(SearchSpec(**spec, now=T + 10))  # type: ignore[arg-type]
        wanted = {e.id for e in live} | ({other.id} if user_id is None else set())
        assert len(after.hits) == 10 and {h.memory_id for h in after.hits} <= wanted
        assert len(after.rankings["keyword"]) <= 10  # the over-fetch is trimmed back to depth


def test_nothing_expiring_costs_nothing() -> None:
    with ThreadPoolExecutor(1) as pool:
        engine = _engine(pool)
        entry = IndexEntry(id=uuid.uuid4(), content="kettle", occurred_at=NOW)
        engine.upsert([entry])
        assert engine.catalog.unexpired(None, T) == (None, frozenset())
        # re-indexing with an expiry, then without, keeps the count of expiring keys exact
        engine.upsert(
            [IndexEntry(id=entry.id, content="kettle", occurred_at=NOW, expires=T, version=1)]
        )
        assert engine.catalog.unexpired(None, T)[1] == frozenset({0})
        engine.upsert([IndexEntry(id=entry.id, content="kettle", occurred_at=NOW, version=2)])
        assert engine.catalog.unexpired(None, T) == (None, frozenset())
        engine.remove([entry.id])
        assert engine.catalog._expiring == 0


def test_the_expired_set_is_reused_until_the_next_expiry_or_a_change() -> None:
    with ThreadPoolExecutor(1) as pool:
        engine = _engine(pool)
        entries = [
            IndexEntry(id=uuid.uuid4(), content="kettle", occurred_at=NOW, expires=T + i)
            for i in (1, 2, 3)
        ]
        engine.upsert(entries)
        catalog = engine.catalog
        assert catalog.unexpired(None, T + 1.5)[1] == frozenset({0})
        cached = catalog._expired
        assert catalog.unexpired(None, T + 1.9)[1] == frozenset({0})
        assert catalog._expired is cached  # no expiry passed meanwhile: reused
        assert catalog.unexpired(None, T + 2)[1] == frozenset({0, 1})  # the next one passed
        assert catalog.unexpired(None, T)[1] == frozenset()  # a clock set back is honoured
        engine.remove([entries[0].id])
        assert catalog.unexpired(None, T + 2.5)[1] == frozenset({1})  # a change recomputes
        scope = np.array([1, 2], dtype=np.int64)
        assert catalog.unexpired(scope, T + 2.5)[0].tolist() == [2]
