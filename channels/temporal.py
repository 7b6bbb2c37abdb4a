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

Intervals and words live in compact arrays (``channels.temporal_index``): a search reads
the intervals near the window (one sorted range plus two short lists), never a tenant-sized
mask, and nothing is rebuilt after a write. Words are compared only for the memories
closest in time (a pool of ``max(4 * limit, 200)``, widened to every memory tied with its
cut-off), so a search costs O(near intervals + pool words).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from channels.base import ChannelStats, Doc, Hit, KeyArray, Query, top_hits
from channels.postings import in_sorted
from channels.temporal_index import DAY, IntervalIndex, word_hashes
from channels.text import tokenize
from channels.timeparse import mentioned_windows, parse_query_time


class TemporalChannel:
    name = "temporal"

    def __init__(self) -> None:
        self._index = IntervalIndex()

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            day = doc.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
            spans = [(day, day + DAY, "occurred_at")]
            spans += [
                (w.start.timestamp(), w.end.timestamp(), f"mentioned: {w.expression}")
                for w in mentioned_windows(doc.content, doc.occurred_at)
            ]
            self._index.add(doc.key, spans, word_hashes(tokenize(doc.content)))
        self._index.settle()

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._index.delete(key)

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._index = IntervalIndex()
        self.upsert(list(docs))

    def search(self, query: Query) -> list[Hit]:
        parsed = parse_query_time(query.text, query.reference_time)
        index = self._index
        if parsed is None or index.memories == 0 or query.limit <= 0:
            return []
        s, e = parsed.window.start.timestamp(), parsed.window.end.timestamp()
        scale = max((e - s) / 2, DAY)
        near = index.near(s, e, 3 * scale)
        starts, ends = near["start"], near["end"]
        # touching is not overlapping: a window that only abuts W is 1 s away
        distance = np.where(
            (starts < e) & (ends > s), 0.0, np.maximum(1.0, np.maximum(s - ends, starts - e))
        )
        close = distance <= 3 * scale
        keys = index.slot_key[near["slot"]].astype(np.int64)
        if query.allowed is not None:
            close &= in_sorted(keys, query.allowed)
        if not close.any():
            return []
        at = np.flatnonzero(close)
        keys, distance, slots, starts = keys[at], distance[at], near["slot"][at], starts[at]
        # per memory: the closest interval and the earliest start (keys arrive nearly
        # sorted, by time: a stable sort is close to linear)
        order = np.argsort(keys, kind="stable")
        keys, distance, slots, starts = keys[order], distance[order], slots[order], starts[order]
        first_of = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        candidates: KeyArray = keys[first_of]
        best = np.minimum.reduceat(distance, first_of)
        first = np.minimum.reduceat(starts, first_of)
        matched = first_of
        group_end = np.r_[first_of[1:], keys.size]
        # Words only break ties among the closest in time: rank the overlap of a bounded pool.
        pool = max(query.limit * 4, 200)
        if candidates.size > pool:
            cutoff = np.partition(best, pool - 1)[pool - 1]
            keep = best <= cutoff
            candidates, best, first = candidates[keep], best[keep], first[keep]
            matched, group_end = matched[keep], group_end[keep]
        words = set(tokenize(query.text))
        overlap = np.zeros(candidates.shape[0])
        if words:
            found = index.overlap(slots[matched], word_hashes(sorted(words)))
            overlap = found / len(words)
        scores = np.exp(-best / scale) + 0.25 * overlap
        if parsed.prefer != "none" and candidates.size > 1:
            order_of = np.argsort(np.argsort(first, kind="stable"), kind="stable")
            rank = order_of / (candidates.size - 1)
            scores += 0.1 * (1 - rank if parsed.prefer == "earliest" else rank)
        window = [parsed.window.start.isoformat(), parsed.window.end.isoformat()]
        hits = []
        for key, score in top_hits(candidates, scores.astype(np.float32), query.limit):
            i = int(np.searchsorted(candidates, key))  # candidates ascend
            group = at[order[matched[i] : group_end[i]]]  # this memory's near intervals
            ordinal = near["ordinal"][group]
            closest = group[np.lexsort((ordinal, distance[matched[i] : group_end[i]]))[0]]
            label = index.label_names[int(near["label"][closest])]
            start = float(near["start"][closest])
            why: dict[str, Any] = {
                "query_window": window,
                "expression": parsed.window.expression,
                "prefer": parsed.prefer,
                "matched": label,
                "memory_time": datetime.fromtimestamp(start, UTC).isoformat(),
            }
            hits.append(Hit(key, score, why))
        return hits

    def stats(self) -> ChannelStats:
        index = self._index
        return ChannelStats(
            documents=index.memories,
            index_bytes=index.nbytes(),
            extra={"intervals": index.intervals(), "slots": index.slots},
        )
