"""The engine runs channels concurrently with a time budget; a failed or late channel never
fails the search, and the response says which one was missing and why."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from channels.base import ChannelStats, Doc, Hit, Query
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec
from channels.keyword import KeywordChannel

NOW = datetime(2024, 1, 1, tzinfo=UTC)


class _Broken:
    name = "broken"

    def upsert(self, docs: Sequence[Doc]) -> None: ...
    def remove(self, keys: Sequence[int]) -> None: ...
    def rebuild(self, docs: Iterable[Doc]) -> None: ...
    def stats(self) -> ChannelStats:
        return ChannelStats(0, 0)

    def search(self, query: Query) -> list[Hit]:
        raise RuntimeError("index corrupted: secret detail")


class _Slow(_Broken):
    name = "slow"

    def search(self, query: Query) -> list[Hit]:
        time.sleep(0.5)
        return []


def test_failed_and_late_channels_are_reported_not_fatal() -> None:
    pool = ThreadPoolExecutor(4)
    engine = RetrievalEngine(
        {"keyword": KeywordChannel(), "broken": _Broken(), "slow": _Slow()},  # type: ignore[dict-item]
        pool=pool,
        weights={"keyword": 1.0, "broken": 1.0, "slow": 1.0},
        budget_ms=100,
    )
    memory_id = uuid.uuid4()
    engine.upsert(
        [IndexEntry(id=memory_id, content="the blue bicycle is in the garage", occurred_at=NOW)]
    )
    started = time.perf_counter()
    outcome = engine.search(SearchSpec(text="blue bicycle", reference_time=NOW))
    assert time.perf_counter() - started < 0.4  # did not wait for the slow channel
    assert [h.memory_id for h in outcome.hits] == [memory_id]
    assert outcome.missing["broken"] == "failed: RuntimeError"  # no exception text leaks
    assert outcome.missing["slow"].startswith("timed out")
    assert set(outcome.hits[0].fused.channels) == {"keyword"}
    pool.shutdown(wait=True)


class _Steady(_Broken):
    def __init__(self, name: str) -> None:
        self.name = name

    def search(self, query: Query) -> list[Hit]:
        time.sleep(0.15)
        return []


def test_a_channel_budget_starts_when_the_channel_starts_not_when_queued() -> None:
    # one worker: the second channel waits 150 ms in the queue, then runs 150 ms of its
    # 250 ms budget; counted from submission it would be reported late
    pool = ThreadPoolExecutor(1)
    engine = RetrievalEngine(
        {"a": _Steady("a"), "b": _Steady("b")},  # type: ignore[dict-item]
        pool=pool,
        weights={"a": 1.0, "b": 1.0},
        budget_ms=250,
    )
    outcome = engine.search(SearchSpec(text="anything", reference_time=NOW))
    assert outcome.missing == {}
    assert set(outcome.timings_ms) >= {"a", "b"}
    pool.shutdown(wait=True)


def test_a_write_does_not_wait_behind_queued_searches() -> None:
    pool = ThreadPoolExecutor(1)
    engine = RetrievalEngine(
        {"a": _Steady("a")},  # type: ignore[dict-item]
        pool=pool,
        weights={"a": 1.0},
        budget_ms=1000,
    )
    searches = [
        ThreadPoolExecutor(1).submit(engine.search, SearchSpec(text="q", reference_time=NOW))
        for _ in range(6)
    ]
    time.sleep(0.05)  # one search runs, five are queued for the single worker
    started = time.perf_counter()
    engine.upsert([IndexEntry(id=uuid.uuid4(), content="a new fact", occurred_at=NOW)])
    assert time.perf_counter() - started < 0.3  # waits for the running search only
    for future in searches:
        assert future.result().missing == {}
    pool.shutdown(wait=True)
