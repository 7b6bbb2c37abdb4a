"""Temporal channel: ranks memories by how well their time matches the query's window.

Each memory has intervals: its event time ``occurred_at`` (its day) and every date its
text mentions, resolved against ``occurred_at`` (``channels.timeparse``). For a query
window ``W = [s, e)`` the distance of an interval ``[a, b)`` is ``max(0, s - b, a - e)``
and a memory's time score is

    time(m) = exp(-min_over_intervals(distance) / scale),  scale = max(|W| / 2, 1 day)

Memories further than ``3 * scale`` are not returned. Among memories equally close in time
the query's words decide: ``score = time + 0.25 * overlap`` where overlap is the share of
the query's content words (``channels.text.tokenize``) the memory contains. A preference
for the earliest ("the first time") or latest ("recently") match adds up to 0.1 by order.
Queries without a time expression get no results: this channel has nothing to say.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np

from channels.base import ChannelStats, Doc, Hit, Query, top_hits
from channels.text import tokenize
from channels.timeparse import mentioned_windows, parse_query_time

DAY = 86_400.0


class TemporalChannel:
    name = "temporal"

    def __init__(self) -> None:
        self._intervals: dict[int, list[tuple[float, float, str]]] = {}
        self._terms: dict[int, frozenset[str]] = {}
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            day = doc.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
            spans = [(day, day + DAY, "occurred_at")]
            spans += [
                (w.start.timestamp(), w.end.timestamp(), f"mentioned: {w.expression}")
                for w in mentioned_windows(doc.content, doc.occurred_at)
            ]
            self._intervals[doc.key] = spans
            self._terms[doc.key] = frozenset(tokenize(doc.content))
        self._arrays = None

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._intervals.pop(key, None)
            self._terms.pop(key, None)
        self._arrays = None

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._intervals, self._terms = {}, {}
        self.upsert(list(docs))

    def _materialize(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            keys, starts, ends = [], [], []
            for key, spans in self._intervals.items():
                for start, end, _ in spans:
                    keys.append(key)
                    starts.append(start)
                    ends.append(end)
            self._arrays = (
                np.asarray(keys, dtype=np.int64),
                np.asarray(starts, dtype=np.float64),
                np.asarray(ends, dtype=np.float64),
            )
        return self._arrays

    def search(self, query: Query) -> list[Hit]:
        parsed = parse_query_time(query.text, query.reference_time)
        if parsed is None or not self._intervals or query.limit <= 0:
            return []
        keys, starts, ends = self._materialize()
        s, e = parsed.window.start.timestamp(), parsed.window.end.timestamp()
        scale = max((e - s) / 2, DAY)
        # touching is not overlapping: a window that only abuts W is 1 s away
        distance = np.where(
            (starts < e) & (ends > s), 0.0, np.maximum(1.0, np.maximum(s - ends, starts - e))
        )
        near = distance <= 3 * scale
        if query.allowed is not None:
            visible = np.zeros(int(keys.max()) + 1, dtype=bool)
            visible[query.allowed[query.allowed < visible.shape[0]]] = True
            near &= visible[keys]
        if not near.any():
            return []
        keys, distance, starts = keys[near], distance[near], starts[near]
        best = np.full(int(keys.max()) + 1, np.inf)
        np.minimum.at(best, keys, distance)
        first = np.full(best.shape[0], np.inf)
        np.minimum.at(first, keys, starts)
        candidates = np.flatnonzero(np.isfinite(best)).astype(np.int64)
        # Words only break ties among the closest in time: rank the overlap of a bounded pool.
        pool = max(query.limit * 4, 200)
        if candidates.size > pool:
            closest = np.argpartition(best[candidates], pool - 1)[:pool]
            cutoff = best[candidates][closest].max()
            candidates = candidates[best[candidates] <= cutoff]
        words = set(tokenize(query.text))
        overlap = np.array(
            [
                len(words & self._terms[k]) / len(words) if words else 0.0
                for k in candidates.tolist()
            ]
        )
        scores = np.exp(-best[candidates] / scale) + 0.25 * overlap
        if parsed.prefer != "none" and candidates.size > 1:
            order = np.argsort(np.argsort(first[candidates], kind="stable"), kind="stable")
            rank = order / (candidates.size - 1)
            scores += 0.1 * (1 - rank if parsed.prefer == "earliest" else rank)
        window = [parsed.window.start.isoformat(), parsed.window.end.isoformat()]
        hits = []
        for key, score in top_hits(candidates, scores.astype(np.float32), query.limit):
            matched = min(
                self._intervals[key],
                key=lambda span: (
                    0.0 if span[0] < e and span[1] > s else max(1.0, s - span[1], span[0] - e)
                ),
            )
            hits.append(
                Hit(
                    key,
                    score,
                    {
                        "query_window": window,
                        "expression": parsed.window.expression,
                        "prefer": parsed.prefer,
                        "matched": matched[2],
                        "memory_time": datetime.fromtimestamp(matched[0], UTC).isoformat(),
                    },
                )
            )
        return hits

    def stats(self) -> ChannelStats:
        intervals = sum(len(v) for v in self._intervals.values())
        return ChannelStats(
            documents=len(self._intervals),
            index_bytes=intervals * 24,
            extra={"intervals": intervals},
        )
