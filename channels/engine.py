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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.base import Channel, ChannelStats, Doc, FloatArray, Hit, Query
from channels.catalog import Catalog
from channels.context import ConversationIndex, context_vector, with_context
from channels.fusion import FusedHit
from channels.pipeline import run_search
from channels.recall import Tuning
from channels.registry import ChannelSpec
from channels.registry import specs as registered
from channels.rwlock import ReadWriteLock
from channels.timeline import CURRENT, Timeline, TimeView
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
    version: int = 0
    """The row's version: the engine never replaces a newer indexed version by an older one."""
    expires: float = 0.0
    """Expiry in seconds since the epoch; 0.0: never. Searches at or after it skip the entry."""
    timeline: Timeline | None = None
    """Valid and transaction time, and whether a newer memory replaced it (supersession)."""

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
    now: float | None = None
    """Seconds since the epoch that expiry is judged at (default: the wall clock)."""
    view: TimeView = CURRENT
    """Which memories count (supersession, ``as_of``, ``known_at``): see ``TimeView``."""
    embed: Callable[[Sequence[str]], FloatArray] | None = None
    """Texts -> unit-norm embeddings: the engine embeds the query's parts (``vector`` is then
    ignored) when a channel that reads vectors runs."""
    tuning: Tuning | None = None
    """Which pipeline steps run (default: the engine's, normally all)."""


@dataclass(frozen=True, slots=True)
class ResultHit:
    memory_id: uuid.UUID
    fused: FusedHit
    why: Mapping[str, Mapping[str, Any]]
    relevance: float = 0.0
    """Estimated probability that the hit is relevant (``channels.relevance``)."""


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    hits: list[ResultHit]
    timings_ms: dict[str, float]
    missing: dict[str, str]
    weights: dict[str, float]
    rankings: dict[str, list[Hit]]
    explain: dict[str, Any] = field(default_factory=dict)
    """The query's form and parts, why each weight moved, what the feedback pass added."""


VectorSource = Callable[[Sequence[uuid.UUID]], Mapping[uuid.UUID, tuple[FloatArray, int]]]
"""memory ids -> (stored vector, its precision in bits), read from SQL (not held in RAM)."""
EntrySource = Callable[[Sequence[uuid.UUID]], Mapping[uuid.UUID, IndexEntry]]
"""memory ids -> their committed entries, read from SQL: the engine keeps no text in RAM and
reads a neighbour's entry back when a write changes that neighbour's conversation context."""
CHUNK = 2048
POLL_S = 0.002
QUEUE_LIMIT_S = 10.0
"""A channel task still queued after this long is reported missing (never hang a search)."""


class RetrievalEngine:
    """One tenant's channels over a compact catalog. Holds no memory text or metadata: with
    ``load_entries`` the entries a write needs as context are read back from the source of
    truth; without it (tests, benchmarks) they are kept in a dict."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        pool: ThreadPoolExecutor,
        weights: Mapping[str, float],
        rrf_k: float = 60.0,
        budget_ms: float = 250.0,
        tuning: Tuning | None = None,
        fetch_vectors: VectorSource | None = None,
        load_entries: EntrySource | None = None,
        specs: Mapping[str, ChannelSpec] | None = None,
    ) -> None:
        self.channels = dict(channels)
        self._specs = dict(registered() if specs is None else specs)
        self._fetch = fetch_vectors
        for name, channel in self.channels.items():
            spec = self._specs.get(name)
            if fetch_vectors is not None and spec is not None and spec.needs_rescorer:
                channel.rescore = self._rescore  # type: ignore[attr-defined]
        self.catalog = Catalog()
        self._conversations = ConversationIndex()
        self._held: dict[uuid.UUID, IndexEntry] | None = None if load_entries else {}
        self._load = load_entries or self._held_entries
        self._pool = pool
        self._weights = {  # a channel the weights leave out gets its spec's default, not 0
            name: float(
                weights[name]
                if name in weights
                else getattr(self._specs.get(name), "default_weight", 1.0)
            )
            for name in self.channels
        }
        self._rrf_k = rrf_k
        self._budget_s = budget_ms / 1000.0
        self.tuning = tuning or Tuning()
        self._lock = ReadWriteLock()

    # writes

    def upsert(self, entries: Sequence[IndexEntry]) -> None:
        """Index ``entries``; an entry older than the version already indexed is skipped (a
        slower thread holding an older copy of a row never undoes a newer one)."""
        if entries:
            with self._lock.write():
                self._upsert(entries)

    def remove(self, ids: Sequence[uuid.UUID]) -> None:
        with self._lock.write():
            keys: list[int] = []
            affected: set[int] = set()
            for memory_id in ids:
                key = self.catalog.key(memory_id)
                if key is None:
                    continue
                affected.update(self._near(key))
                self._conversations.drop(key)
                self.catalog.drop(memory_id)
                if self._held is not None:
                    self._held.pop(memory_id, None)
                keys.append(key)
            if not keys:
                return
            affected.difference_update(keys)
            docs = self._docs({}, affected, {})  # channels drop the keys first
            for channel in self.channels.values():
                channel.remove(keys)
                channel.upsert(docs)

    def rebuild(
        self, entries: Iterable[IndexEntry], *, docs_from: Iterable[IndexEntry] | None = None
    ) -> None:
        """Replace everything. Keys are handed out in the order of ``entries`` (insertion
        order, so ties rank as they did before a restart); only their id, scope, time and
        metadata are read. The channels are then fed from ``docs_from`` (default: ``entries``
        again), streamed in chunks; in conversation order (scope, then time) a chunk reads
        back at most one neighbour through the entry source."""
        with self._lock.write():
            self.catalog = Catalog()
            self._conversations = ConversationIndex()
            if self._held is not None:
                self._held.clear()
            for channel in self.channels.values():
                channel.rebuild([])
            for entry in entries:
                self._place(entry)
            previous: dict[int, IndexEntry] = {}
            chunk: dict[int, IndexEntry] = {}
            for entry in entries if docs_from is None else docs_from:
                key = self.catalog.key(entry.id)
                if key is not None:
                    chunk[key] = entry
                    if self._held is not None:
                        self._held[entry.id] = entry
                if len(chunk) >= CHUNK:
                    self._feed(chunk, previous)
                    previous, chunk = chunk, {}
            self._feed(chunk, previous)

    def _feed(
        self,
        own: Mapping[int, IndexEntry],
        known: Mapping[int, IndexEntry],
        affected: Iterable[int] = (),
    ) -> None:
        """Index ``own`` entries and re-index the ``affected`` neighbours' context."""
        docs = self._docs(own, affected, known)
        for channel in self.channels.values():
            channel.upsert(docs)

    def _upsert(self, entries: Sequence[IndexEntry]) -> None:
        own: dict[int, IndexEntry] = {}
        affected: set[int] = set()
        for entry in entries:
            key = self.catalog.key(entry.id)
            if key is not None and entry.version < (self.catalog.version(entry.id) or 0):
                continue
            if key is not None:  # its old neighbours lose it as context
                affected.update(self._near(key))
            own[self._place(entry)] = entry
        for key in own:
            affected.update(self._near(key))
        affected.difference_update(own)
        self._feed(own, {}, affected)

    def _near(self, key: int) -> list[int]:
        return [k for k in self._conversations.neighbours(key) if k is not None]

    def _place(self, entry: IndexEntry) -> int:
        scope = {
            "user_id": entry.user_id,
            "agent_id": entry.agent_id,
            "session_id": entry.session_id,
        }
        key = self.catalog.assign(
            entry.id,
            scope,
            entry.metadata,
            version=entry.version,
            expires=entry.expires,
            timeline=entry.timeline,
        )
        if self._held is not None:
            self._held[entry.id] = entry
        self._conversations.place(
            key, (entry.user_id, entry.agent_id, entry.session_id), entry.occurred_at.timestamp()
        )
        return key

    def _held_entries(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, IndexEntry]:
        held = self._held or {}
        return {i: held[i] for i in ids if i in held}

    def _docs(
        self,
        own: Mapping[int, IndexEntry],
        affected: Iterable[int],
        known: Mapping[int, IndexEntry],
    ) -> list[Doc]:
        """Docs of ``own`` and ``affected`` keys, each with its neighbours as context; entries
        not at hand are read back through the entry source in one call."""
        wanted = [*own, *sorted(affected)]
        near = {key: self._conversations.neighbours(key) for key in wanted}
        entries: dict[int, IndexEntry] = {**known, **own}
        missing = {k for k in wanted if k not in entries}
        missing.update(n for pair in near.values() for n in pair if n is not None)
        missing.difference_update(entries)
        ids = {k: self.catalog.memory_id(k) for k in missing}
        found = self._load([i for i in ids.values() if i is not None]) if ids else {}
        for key, memory_id in ids.items():
            if memory_id is not None and memory_id in found:
                entries[key] = found[memory_id]
        docs = []
        for key in wanted:
            entry = entries.get(key)
            if entry is None:  # deleted meanwhile: the change feed removes it
                continue
            before, after = (None if n is None else entries.get(n) for n in near[key])
            docs.append(
                Doc(
                    key=key,
                    content=entry.content,
                    occurred_at=entry.occurred_at,
                    metadata=entry.metadata,
                    vector=entry.decoded(),
                    tier=entry.tier,
                    context_before=before.content if before is not None else "",
                    context_after=after.content if after is not None else "",
                    context_vector=context_vector(
                        None if before is None else before.decoded(),
                        None if after is None else after.decoded(),
                    ),
                )
            )
        return docs

    def _rescore(self, keys: Sequence[int]) -> dict[int, tuple[FloatArray, int]]:
        """Indexed vectors of ``keys`` rebuilt from their stored codes (with context), for
        re-scoring a 1-bit shortlist."""
        assert self._fetch is not None
        pairs = {k: self._conversations.neighbours(k) for k in keys}
        wanted = set(pairs) | {n for p in pairs.values() for n in p if n is not None}
        ids = {k: m for k in wanted if (m := self.catalog.memory_id(k)) is not None}
        fetched = self._fetch(list(ids.values()))
        out: dict[int, tuple[FloatArray, int]] = {}
        for key, (before, after) in pairs.items():
            own = fetched.get(ids[key]) if key in ids else None
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

    @property
    def specs(self) -> Mapping[str, ChannelSpec]:
        return self._specs

    @property
    def weights(self) -> Mapping[str, float]:
        return self._weights

    @property
    def rrf_k(self) -> float:
        return self._rrf_k

    def search(self, spec: SearchSpec) -> SearchOutcome:
        return run_search(self, spec)

    def run_channels(
        self, tasks: Mapping[str, tuple[str, Query]]
    ) -> tuple[dict[str, list[Hit]], dict[str, float], dict[str, str]]:
        """Run ``task -> (channel, query)`` concurrently within the budget: the hits and
        milliseconds of every task that finished, and why the others are missing."""
        runs = {task: _Run() for task in tasks}
        futures = {
            task: self._pool.submit(self._run_channel, self.channels[name], query, runs[task])
            for task, (name, query) in tasks.items()
        }
        missing = self._await(futures, runs)
        results: dict[str, list[Hit]] = {}
        timings: dict[str, float] = {}
        for task, future in futures.items():
            if task in missing:
                continue
            error = future.exception()
            if error is not None:
                missing[task] = f"failed: {type(error).__name__}"
                continue
            results[task], timings[task] = future.result()
        return results, timings, missing

    def entries(self, keys: Sequence[int]) -> dict[int, IndexEntry]:
        """The committed entries (text, vector) of ``keys``, read back from the source."""
        ids = {k: m for k in keys if (m := self.catalog.memory_id(k)) is not None}
        found = self._load(list(ids.values())) if ids else {}
        return {k: found[m] for k, m in ids.items() if m in found}

    def neighbours(self, key: int) -> tuple[int | None, int | None]:
        return self._conversations.neighbours(key)

    def explained(self, why: Mapping[str, Any]) -> Mapping[str, Any]:
        """A channel names other memories by key (``via_key``); a client reads their ids."""
        if "via_key" not in why:
            return why
        out = {k: v for k, v in why.items() if k != "via_key"}
        via = self.catalog.memory_id(int(why["via_key"]))
        if via is not None:
            out["via_memory"] = str(via)
        return out

    def _await(
        self, futures: Mapping[str, Future[Any]], runs: Mapping[str, _Run]
    ) -> dict[str, str]:
        """Wait until every channel finished or used up its budget, counted from when the
        channel *started* (time queued behind other searches is not the channel's fault)."""
        queued_limit = time.perf_counter() + QUEUE_LIMIT_S
        pending = set(futures)
        while pending:
            now = time.perf_counter()
            deadlines = {
                name: (runs[name].started + self._budget_s if runs[name].started else queued_limit)
                for name in pending
            }
            timeout = min(deadlines.values()) - now
            if any(not runs[name].started for name in pending):
                timeout = min(timeout, POLL_S)  # notice when a queued channel starts
            if timeout <= 0:
                pending -= {n for n, d in deadlines.items() if d <= now}
                if not pending or all(futures[n].done() for n in pending):
                    break
                continue
            done, _ = wait(
                [futures[n] for n in pending], timeout=timeout, return_when=FIRST_COMPLETED
            )
            pending -= {n for n in pending if futures[n].done()}
        missing: dict[str, str] = {}
        for name, future in futures.items():
            if future.done():
                continue
            if runs[name].started:
                missing[name] = f"timed out after {self._budget_s * 1000:.0f} ms"
            else:
                missing[name] = f"not started within {QUEUE_LIMIT_S:.0f} s"
        return missing

    def _run_channel(self, channel: Channel, query: Query, run: _Run) -> tuple[list[Hit], float]:
        # the read lock is taken here, in the worker: a queued search holds no lock, so a
        # write never waits behind a queue of searches
        with self._lock.read():
            run.started = time.perf_counter()
            hits = channel.search(query)
            return hits, (time.perf_counter() - run.started) * 1000.0


@dataclass(slots=True)
class _Run:
    started: float = 0.0
