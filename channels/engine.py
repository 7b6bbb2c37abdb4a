"""One tenant's retrieval engine: the catalog plus every registered channel.

Writes (``upsert`` / ``remove`` / ``rebuild``) are applied to every channel under a write
lock after the SQL transaction committed. A search runs the requested channels
concurrently, each on a worker thread with a time budget; a channel that fails or runs
late is reported as missing and never fails the search. Rankings are fused with
weighted RRF (``channels.fusion``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.base import Channel, ChannelStats, Doc, FloatArray, Hit, Query
from channels.catalog import Catalog
from channels.context import ConversationIndex, context_vector, with_context
from channels.fusion import FusedHit, fuse
from channels.rwlock import ReadWriteLock
from storage.quantization import Code, decode


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """A committed memory as the engine indexes it."""

    id: uuid.UUID
    content: str
    occurred_at: datetime
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    vector: FloatArray | Code | None = None
    """The embedding; a quantized ``Code`` (at the index's precision) keeps RAM small."""
    tier: str = "hot"
    dimension: int = 0
    """Needed to decode a ``Code`` vector."""

    def decoded(self) -> FloatArray | None:
        if isinstance(self.vector, Code):
            return decode(self.vector, self.dimension)
        return self.vector


@dataclass(frozen=True, slots=True)
class SearchSpec:
    text: str
    reference_time: datetime
    limit: int = 10
    vector: FloatArray | None = None
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    channels: Sequence[str] | None = None
    weights: Mapping[str, float] | None = None
    depth: int = 50
    """How many hits each channel contributes to fusion."""


@dataclass(frozen=True, slots=True)
class ResultHit:
    memory_id: uuid.UUID
    fused: FusedHit
    why: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    hits: list[ResultHit]
    timings_ms: dict[str, float]
    missing: dict[str, str]
    weights: dict[str, float]
    rankings: dict[str, list[Hit]]


WeightPolicy = Any  # callable (text, base weights) -> weights; see channels.weighting
VectorSource = Callable[[Sequence[uuid.UUID]], Mapping[uuid.UUID, tuple[FloatArray, int]]]
"""memory ids -> (stored vector, its precision in bits), read from SQL (not held in RAM)."""


class RetrievalEngine:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        pool: ThreadPoolExecutor,
        weights: Mapping[str, float],
        rrf_k: float = 60.0,
        budget_ms: float = 250.0,
        weight_policy: WeightPolicy | None = None,
        fetch_vectors: VectorSource | None = None,
    ) -> None:
        self.channels = dict(channels)
        self._fetch = fetch_vectors
        semantic = self.channels.get("semantic")
        if fetch_vectors is not None and hasattr(semantic, "rescore"):
            semantic.rescore = self._rescore  # type: ignore[union-attr]
        self.catalog = Catalog()
        self._conversations = ConversationIndex()
        self._entries: dict[int, IndexEntry] = {}
        self._pool = pool
        self._weights = dict(weights)
        self._rrf_k = rrf_k
        self._budget_s = budget_ms / 1000.0
        self._policy = weight_policy
        self._lock = ReadWriteLock()

    # writes

    def upsert(self, entries: Sequence[IndexEntry]) -> None:
        if not entries:
            return
        with self._lock.write():
            affected: set[int] = set()
            for entry in entries:
                key = self.catalog.key(entry.id)
                if key is not None:  # its old neighbours lose it as context
                    affected.update(k for k in self._conversations.neighbours(key) if k is not None)
                key = self._place(entry)
                affected.add(key)
                affected.update(k for k in self._conversations.neighbours(key) if k is not None)
            docs = [self._doc(key) for key in sorted(affected)]
            for channel in self.channels.values():
                channel.upsert(docs)

    def remove(self, ids: Sequence[uuid.UUID]) -> None:
        with self._lock.write():
            keys: list[int] = []
            affected: set[int] = set()
            for memory_id in ids:
                key = self.catalog.key(memory_id)
                if key is None:
                    continue
                affected.update(k for k in self._conversations.neighbours(key) if k is not None)
                self._conversations.drop(key)
                self._entries.pop(key, None)
                self.catalog.drop(memory_id)
                keys.append(key)
            if not keys:
                return
            affected.difference_update(keys)
            docs = [self._doc(key) for key in sorted(affected)]
            for channel in self.channels.values():
                channel.remove(keys)
                channel.upsert(docs)

    def rebuild(self, entries: Iterable[IndexEntry]) -> None:
        with self._lock.write():
            self.catalog = Catalog()
            self._conversations = ConversationIndex()
            self._entries = {}
            keys = [self._place(entry) for entry in entries]
            docs = [self._doc(key) for key in keys]
            for channel in self.channels.values():
                channel.rebuild(docs)

    def _place(self, entry: IndexEntry) -> int:
        scope = {
            "user_id": entry.user_id,
            "agent_id": entry.agent_id,
            "session_id": entry.session_id,
        }
        key = self.catalog.assign(entry.id, scope, entry.metadata)
        self._entries[key] = entry
        self._conversations.place(
            key, (entry.user_id, entry.agent_id, entry.session_id), entry.occurred_at.timestamp()
        )
        return key

    def _doc(self, key: int) -> Doc:
        entry = self._entries[key]
        near = [
            None if k is None else self._entries[k] for k in self._conversations.neighbours(key)
        ]
        before, after = (None if n is None else n.decoded() for n in near)
        before_text, after_text = (n.content if n is not None else "" for n in near)
        return Doc(
            key=key,
            content=entry.content,
            occurred_at=entry.occurred_at,
            metadata=entry.metadata,
            vector=entry.decoded(),
            tier=entry.tier,
            context_before=before_text,
            context_after=after_text,
            context_vector=context_vector(before, after),
        )

    def _rescore(self, keys: Sequence[int]) -> dict[int, tuple[FloatArray, int]]:
        """Indexed vectors of ``keys`` rebuilt from their stored codes (with context), for
        re-scoring a 1-bit shortlist."""
        assert self._fetch is not None
        pairs = {k: self._conversations.neighbours(k) for k in keys if k in self._entries}
        wanted = {k for k in pairs} | {n for p in pairs.values() for n in p if n is not None}
        ids = {k: self._entries[k].id for k in wanted if k in self._entries}
        fetched = self._fetch(list(ids.values()))
        out: dict[int, tuple[FloatArray, int]] = {}
        for key, (before, after) in pairs.items():
            own = fetched.get(ids[key])
            if own is None:
                continue
            vector, bits = own
            near = [
                fetched[ids[n]][0] if n is not None and ids.get(n) in fetched else None
                for n in (before, after)
            ]
            out[key] = (with_context(vector, context_vector(near[0], near[1])), bits)
        return out

    def __len__(self) -> int:
        return len(self.catalog)

    def stats(self) -> dict[str, ChannelStats]:
        return {name: channel.stats() for name, channel in self.channels.items()}

    # reads

    def search(self, spec: SearchSpec) -> SearchOutcome:
        started = time.perf_counter()
        names = [n for n in (spec.channels or list(self.channels)) if n in self.channels]
        weights = dict(self._weights)
        if self._policy is not None:
            weights = dict(self._policy(spec.text, weights))
        if spec.weights:
            weights.update(spec.weights)
        weights = {n: w for n, w in weights.items() if n in self.channels}
        allowed = self.catalog.allowed(
            user_id=spec.user_id,
            agent_id=spec.agent_id,
            session_id=spec.session_id,
            metadata=spec.metadata,
        )
        query = Query(
            text=spec.text,
            reference_time=spec.reference_time,
            limit=max(spec.depth, spec.limit),
            vector=spec.vector,
            allowed=allowed,
        )
        futures: dict[str, Future[tuple[list[Hit], float]]] = {}
        for name in names:
            self._lock.acquire_read()
            futures[name] = self._pool.submit(self._run_channel, self.channels[name], query)
        wait(list(futures.values()), timeout=self._budget_s)
        rankings: dict[str, list[Hit]] = {}
        timings: dict[str, float] = {}
        missing: dict[str, str] = {}
        for name, future in futures.items():
            if not future.done():
                missing[name] = f"timed out after {self._budget_s * 1000:.0f} ms"
                continue
            error = future.exception()
            if error is not None:
                missing[name] = f"failed: {type(error).__name__}"
                continue
            rankings[name], timings[name] = future.result()
        fused = fuse(
            rankings,
            weights={n: w for n, w in weights.items() if n in rankings},
            k=self._rrf_k,
            limit=spec.limit,
        )
        whys: dict[int, dict[str, Mapping[str, Any]]] = {}
        for name, hits in rankings.items():
            for hit in hits:
                whys.setdefault(hit.key, {})[name] = hit.why
        results: list[ResultHit] = []
        for item in fused:
            memory_id = self.catalog.memory_id(item.key)
            if memory_id is not None:
                results.append(ResultHit(memory_id, item, whys.get(item.key, {})))
        timings["fusion_total"] = (time.perf_counter() - started) * 1000.0
        return SearchOutcome(results, timings, missing, weights, rankings)

    def _run_channel(self, channel: Channel, query: Query) -> tuple[list[Hit], float]:
        try:
            started = time.perf_counter()
            hits = channel.search(query)
            return hits, (time.perf_counter() - started) * 1000.0
        finally:
            self._lock.release_read()
