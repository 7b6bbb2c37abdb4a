"""Conversation context: each memory's neighbours in its conversation.

A memory is often meaningless alone ("Yes, last Sunday!"): the turn before and after it
say what it is about. Memories of one scope (user, agent, session) are ordered by
(``occurred_at``, insertion order); two adjacent memories belong to one conversation when
they are at most ``max_gap`` apart. Channels may use the neighbours as weak extra
evidence: the keyword channel indexes their words with a lower field weight (BM25F), the
semantic channel adds their vectors with small weights before normalising:

    v_indexed = normalize(v + BEFORE * v_prev + AFTER * v_next)

The weights were tuned on the LoCoMo dev conversations (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from channels.base import FloatArray
from channels.slots import grown

BEFORE = 0.4
AFTER = 0.2


class _Run:
    """One scope's memories ordered by (timestamp, key): two parallel growable arrays."""

    __slots__ = ("keys", "size", "times")

    def __init__(self) -> None:
        self.times = np.zeros(16, dtype=np.float64)
        self.keys = np.zeros(16, dtype=np.int64)
        self.size = 0

    def position(self, timestamp: float, key: int) -> int:
        """Where (timestamp, key) is, or would be inserted."""
        times, keys = self.times[: self.size], self.keys[: self.size]
        lo = int(np.searchsorted(times, timestamp, side="left"))
        hi = int(np.searchsorted(times, timestamp, side="right"))
        return lo + int(np.searchsorted(keys[lo:hi], key, side="left"))

    def insert(self, timestamp: float, key: int) -> None:
        n = self.size
        if n == self.times.shape[0]:
            self.times = grown(self.times, n + 1)
            self.keys = grown(self.keys, n + 1)
        # conversations mostly grow at the end: O(1); an earlier turn shifts the tail
        i = n if n == 0 or (self.times[n - 1], self.keys[n - 1]) < (timestamp, key) else None
        if i is None:
            i = self.position(timestamp, key)
            self.times[i + 1 : n + 1] = self.times[i:n].copy()
            self.keys[i + 1 : n + 1] = self.keys[i:n].copy()
        self.times[i], self.keys[i] = timestamp, key
        self.size = n + 1

    def delete(self, timestamp: float, key: int) -> None:
        i, n = self.position(timestamp, key), self.size
        self.times[i : n - 1] = self.times[i + 1 : n].copy()
        self.keys[i : n - 1] = self.keys[i + 1 : n].copy()
        self.size = n - 1


class ConversationIndex:
    """Per scope, memories in (timestamp, key) order; per key, its scope and timestamp."""

    def __init__(self, *, max_gap_seconds: float = 3600.0) -> None:
        self.max_gap = max_gap_seconds
        self._scope_ids: dict[Hashable, int] = {}
        self._runs: list[_Run] = []
        self._scope_of = np.zeros(0, dtype=np.int32)
        self._time_of = np.zeros(0, dtype=np.float64)

    def place(self, key: int, scope: Hashable, timestamp: float) -> None:
        self.drop(key)
        scope_id = self._scope_ids.get(scope)
        if scope_id is None:
            scope_id = self._scope_ids[scope] = len(self._runs)
            self._runs.append(_Run())
        self._scope_of = grown(self._scope_of, key + 1, -1)
        self._time_of = grown(self._time_of, key + 1)
        self._runs[scope_id].insert(timestamp, key)
        self._scope_of[key], self._time_of[key] = scope_id, timestamp

    def drop(self, key: int) -> None:
        if key >= self._scope_of.shape[0] or self._scope_of[key] < 0:
            return
        self._runs[int(self._scope_of[key])].delete(float(self._time_of[key]), key)
        self._scope_of[key] = -1

    def neighbours(self, key: int) -> tuple[int | None, int | None]:
        """The previous and next memory of the same conversation, if any."""
        if key >= self._scope_of.shape[0] or self._scope_of[key] < 0:
            return None, None
        run, timestamp = self._runs[int(self._scope_of[key])], float(self._time_of[key])
        i = run.position(timestamp, key)
        before = after = None
        if i > 0 and timestamp - run.times[i - 1] <= self.max_gap:
            before = int(run.keys[i - 1])
        if i + 1 < run.size and run.times[i + 1] - timestamp <= self.max_gap:
            after = int(run.keys[i + 1])
        return before, after

    def nbytes(self) -> int:
        runs = sum(r.times.nbytes + r.keys.nbytes for r in self._runs)
        return runs + self._scope_of.nbytes + self._time_of.nbytes


def context_vector(before: FloatArray | None, after: FloatArray | None) -> FloatArray | None:
    parts = []
    if before is not None:
        parts.append(BEFORE * before)
    if after is not None:
        parts.append(AFTER * after)
    if not parts:
        return None
    return np.sum(parts, axis=0).astype(np.float32)  # type: ignore[no-any-return]


def with_context(vector: FloatArray, context: FloatArray | None) -> FloatArray:
    """``normalize(v + context)``: the vector the semantic channel indexes (``v`` as is when
    the memory has no neighbours)."""
    out = np.asarray(vector, dtype=np.float32)
    if context is not None:
        out = out + context
        out = out / max(float(np.linalg.norm(out)), 1e-12)
    return out.astype(np.float32)
