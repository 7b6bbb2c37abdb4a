"""One contract test, run against every registered channel (see channels/base.py)."""

from __future__ import annotations

import hashlib
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from channels.base import Channel, Doc, Query
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec
from channels.registry import build_channels, resolve_weights, specs
from service.schemas import SearchRequest
from service.settings import SearchSettings

DIM = 64
REF = datetime(2023, 7, 1, 12, tzinfo=UTC)
PEOPLE = ["Caroline", "Melanie", "Jon", "Gina", "Dave"]
THINGS = [
    "went to the LGBTQ support group",
    "painted a sunrise over the lake",
    "signed up for a pottery class",
    "opened a dance studio downtown",
    "adopted a puppy named Oscar",
    "ran a charity race for mental health",
    "visited Paris with the family",
]
WHEN = ["yesterday", "last week", "on Friday", "two weeks ago", "in May 2023", ""]
QUERIES = [
    "What did Caroline do at the support group last week?",
    "When did Melanie paint a sunrise?",
    "Who adopted a puppy in June 2023?",
    "pottery class",
    "Where did Jon and Gina travel recently?",
]


def _vector(text: str) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
        v[h % DIM] += 1.0 if (h >> 16) & 1 else -1.0
    n = float(np.linalg.norm(v))
    return v / n if n else v


def _corpus(n: int = 120) -> list[Doc]:
    docs = []
    for i in range(n):
        who, what, when = PEOPLE[i % 5], THINGS[i % 7], WHEN[i % 6]
        text = f"{who}: I {what} {when}".strip() + f" (note {i})"
        docs.append(
            Doc(
                key=i,
                content=text,
                occurred_at=REF - timedelta(days=3 * i),
                metadata={"speaker": who, "dia_id": f"D{i // 10}:{i % 10}"},
                vector=_vector(text),
                tier="hot",
            )
        )
    return docs


def _query(text: str, limit: int = 10, allowed: np.ndarray | None = None) -> Query:
    return Query(text=text, reference_time=REF, limit=limit, vector=_vector(text), allowed=allowed)


def _make(name: str) -> Channel:
    return specs()[name].factory(DIM)


@pytest.fixture(params=sorted(specs()))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _keys(channel: Channel, query: Query) -> list[tuple[int, float]]:
    return [(h.key, round(h.score, 6)) for h in channel.search(query)]


def test_implements_the_protocol(name: str) -> None:
    channel = _make(name)
    assert isinstance(channel, Channel)
    assert channel.name == name


def test_results_are_bounded_sorted_and_deterministic(name: str) -> None:
    channel = _make(name)
    channel.rebuild(_corpus())
    answered = 0
    for text in QUERIES:
        for limit in (1, 5, 20):
            hits = channel.search(_query(text, limit))
            assert len(hits) <= limit
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True)
            assert len({h.key for h in hits}) == len(hits)
            assert _keys(channel, _query(text, limit)) == [(h.key, round(h.score, 6)) for h in hits]
            answered += bool(hits)
    assert answered > 0, f"{name} never answered any query"


def test_scope_is_respected(name: str) -> None:
    channel = _make(name)
    channel.rebuild(_corpus())
    allowed = np.array([3, 10, 17, 24, 31, 66, 101], dtype=np.int64)
    for text in QUERIES:
        hits = channel.search(_query(text, 50, allowed))
        assert {h.key for h in hits} <= set(allowed.tolist())
    assert channel.search(_query(QUERIES[0], 10, np.array([], dtype=np.int64))) == []


def test_incremental_equals_rebuild_and_upsert_is_idempotent(name: str) -> None:
    docs = _corpus()
    rebuilt = _make(name)
    rebuilt.rebuild(docs)
    incremental = _make(name)
    for i in range(0, len(docs), 7):
        incremental.upsert(docs[i : i + 7])
    incremental.upsert(docs[:20])  # again: no change
    for text in QUERIES:
        assert _keys(incremental, _query(text, 20)) == _keys(rebuilt, _query(text, 20))
    assert incremental.stats().documents == rebuilt.stats().documents == len(docs)


def test_remove_and_replace(name: str) -> None:
    docs = _corpus()
    channel = _make(name)
    channel.rebuild(docs)
    removed = [d.key for d in docs[::3]]
    channel.remove(removed)
    channel.remove([10_000])  # unknown keys are ignored
    for text in QUERIES:
        assert not {h.key for h in channel.search(_query(text, 200))} & set(removed)
    assert channel.stats().documents == len(docs) - len(removed)
    # replacing a document's content changes what finds it
    target = docs[1]
    channel.upsert(
        [
            Doc(
                key=target.key,
                content="Zanzibar xylophone quartet",
                occurred_at=target.occurred_at,
                vector=_vector("Zanzibar xylophone quartet"),
            )
        ]
    )
    reference = _make(name)
    reference.rebuild(
        [d for d in docs if d.key not in removed and d.key != 1]
        + [
            Doc(
                key=1,
                content="Zanzibar xylophone quartet",
                occurred_at=target.occurred_at,
                vector=_vector("Zanzibar xylophone quartet"),
            )
        ]
    )
    for text in QUERIES + ["Zanzibar xylophone quartet"]:
        assert _keys(channel, _query(text, 20)) == _keys(reference, _query(text, 20))


def test_stats(name: str) -> None:
    channel = _make(name)
    assert channel.stats().documents == 0
    channel.rebuild(_corpus(30))
    stats = channel.stats()
    assert stats.documents == 30
    assert stats.index_bytes > 0


def test_has_a_positive_default_weight_and_is_reachable(name: str) -> None:
    """With default settings the channel is weighted (never silently 0), accepted by the
    API's schema, and its hits reach the fused result of an engine built from the registry."""
    weights = resolve_weights(SearchSettings().weights)
    assert weights[name] > 0
    assert SearchRequest(query="anything", channels=[name]).channels == [name]
    pool = ThreadPoolExecutor(2)
    engine = RetrievalEngine(build_channels(dimension=DIM), pool=pool, weights=weights)
    engine.upsert(
        [
            IndexEntry(
                id=uuid.UUID(int=doc.key + 1),
                content=doc.content,
                occurred_at=doc.occurred_at,
                metadata=doc.metadata,
                vector=doc.vector,
            )
            for doc in _corpus()
        ]
    )
    reached = False
    for text in QUERIES:
        outcome = engine.search(
            SearchSpec(text=text, reference_time=REF, limit=50, vector=_vector(text))
        )
        assert outcome.weights[name] > 0
        reached |= any(name in hit.fused.channels for hit in outcome.hits)
    pool.shutdown()
    assert reached, f"{name} never reached a fused result"
