"""The temporal channel (channels.temporal) against a brute-force reading of its docstring."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from channels import temporal_index
from channels.base import Doc, Hit, Query
from channels.temporal import TemporalChannel
from channels.text import tokenize
from channels.timeparse import mentioned_windows, parse_query_time

DAY = 86_400.0
REF = datetime(2023, 7, 1, 12, tzinfo=UTC)
PHRASES = [
    "we went hiking",
    "I painted the lake yesterday",
    "the pottery class last week was fun",
    "back in 2022 we moved to Lisbon",
    "my sister visited on 14 March 2023",
    "in May 2023 I ran a charity race",
    "the dance studio opened two weeks ago",
    "nothing much today",
]
QUERIES = [
    "What did I do last week?",
    "Where did we go hiking in May 2023?",
    "When did my sister visit in March 2023?",
    "What happened in 2022?",
    "What was the first time I painted the lake?",
    "pottery class recently",
    "no time expression at all",
]


def _corpus(n: int, seed: int = 0) -> list[Doc]:
    rng = np.random.default_rng(seed)
    return [
        Doc(
            key=i,
            content=PHRASES[int(rng.integers(len(PHRASES)))] + f" note{i % 7}",
            occurred_at=REF
            - timedelta(days=int(rng.integers(0, 500)), hours=int(rng.integers(24))),
        )
        for i in range(n)
    ]


def _expected(docs: dict[int, Doc], query: Query) -> list[tuple[int, float, str]]:
    """(key, score, matched label) of every memory the docstring's formula returns, best
    first (brute force over every interval, the pool of the closest widened to ties)."""
    parsed = parse_query_time(query.text, query.reference_time)
    if parsed is None:
        return []
    s, e = parsed.window.start.timestamp(), parsed.window.end.timestamp()
    scale = max((e - s) / 2, DAY)
    rows = []
    for key, doc in docs.items():
        if query.allowed is not None and key not in set(query.allowed.tolist()):
            continue
        day = doc.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        spans = [(day, day + DAY, "occurred_at")] + [
            (w.start.timestamp(), w.end.timestamp(), f"mentioned: {w.expression}")
            for w in mentioned_windows(doc.content, doc.occurred_at)
        ]
        dist = [0.0 if a < e and b > s else max(1.0, s - b, a - e) for a, b, _ in spans]
        near = [(d, span) for d, span in zip(dist, spans, strict=True) if d <= 3 * scale]
        if near:
            best, span = min(near, key=lambda pair: pair[0])
            rows.append((key, best, min(a for _, (a, _, _) in near), span[2], doc.content))
    pool = max(query.limit * 4, 200)
    if len(rows) > pool:
        cutoff = sorted(r[1] for r in rows)[pool - 1]
        rows = [r for r in rows if r[1] <= cutoff]
    rows.sort()
    words = set(tokenize(query.text))
    scores = [
        math.exp(-best / scale) + 0.25 * (len(words & set(tokenize(text))) / len(words))
        for _, best, _, _, text in rows
    ]
    if parsed.prefer != "none" and len(rows) > 1:
        by_first = sorted(range(len(rows)), key=lambda i: rows[i][2])
        for rank, i in enumerate(by_first):
            share = rank / (len(rows) - 1)
            scores[i] += 0.1 * (1 - share if parsed.prefer == "earliest" else share)
    out = [(r[0], float(np.float32(sc)), r[3]) for r, sc in zip(rows, scores, strict=True)]
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def _check(hits: list[Hit], expected: list[tuple[int, float, str]], limit: int) -> None:
    assert [(h.key, h.score) for h in hits] == [(k, sc) for k, sc, _ in expected[:limit]]
    assert [h.why["matched"] for h in hits] == [m for _, _, m in expected[:limit]]


def test_scores_and_explanations_equal_the_brute_force_formula() -> None:
    docs = _corpus(400)
    channel = TemporalChannel()
    channel.rebuild(docs)
    by_key = {d.key: d for d in docs}
    answered = 0
    for text in QUERIES:
        for limit in (5, 60):
            query = Query(text, REF, limit=limit)
            hits = channel.search(query)
            _check(hits, _expected(by_key, query), limit)
            answered += bool(hits)
    assert answered >= 10
    (hit,) = channel.search(Query("What happened in 2022?", REF, limit=1))
    assert hit.why["expression"] and hit.why["query_window"][0].startswith("2022-01-01")


def test_writes_merges_and_compaction_keep_the_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(temporal_index, "TAIL_MIN", 16)
    monkeypatch.setattr(temporal_index, "COMPACT_MIN_DEAD", 8)
    docs = _corpus(200, seed=1)
    channel = TemporalChannel()
    live: dict[int, Doc] = {}
    rng = np.random.default_rng(2)
    for i in range(0, 200, 5):
        channel.upsert(docs[i : i + 5])
        live.update({d.key: d for d in docs[i : i + 5]})
        gone = [int(k) for k in rng.choice(200, 3)]
        channel.remove(gone)
        for key in gone:
            live.pop(key, None)
    index = channel._index
    assert index.main["slot"].size > 0 and len(index.tail["slot"]) <= 16  # merged
    allowed = np.array(sorted(live)[::2], dtype=np.int64)
    for compacted in (False, True):
        if compacted:
            index.compact()
            assert index.slots == len(live) and index.dead_slots == 0
        for text in QUERIES:
            for scope in (None, allowed):
                query = Query(text, REF, limit=30, allowed=scope)
                _check(channel.search(query), _expected(live, query), 30)
    assert channel.stats().documents == len(live)


def test_a_write_never_rebuilds_the_sorted_intervals() -> None:
    channel = TemporalChannel()
    channel.rebuild(_corpus(300))
    main = channel._index.main["start"]
    new = Doc(1000, "Zelda flew to Oslo on 14 March 2023", REF)
    channel.upsert([new])
    assert channel._index.main["start"] is main  # the write went to the tail
    hits = channel.search(Query("When did Zelda fly to Oslo in March 2023?", REF, limit=5))
    assert hits[0].key == 1000 and hits[0].why["matched"] == "mentioned: 14 march 2023"
    assert hits[0].why["memory_time"].startswith("2023-03-14")


def test_queries_without_time_or_memories_return_nothing() -> None:
    channel = TemporalChannel()
    assert channel.search(Query("last week", REF)) == []
    channel.rebuild(_corpus(20))
    assert channel.search(Query("pottery class", REF)) == []
    assert channel.search(Query("last week", REF, limit=0)) == []
    empty = np.zeros(0, dtype=np.int64)
    assert channel.search(Query("in 2023", REF, allowed=empty)) == []
