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

import bisect
from collections.abc import Hashable

import numpy as np

from channels.base import FloatArray

BEFORE = 0.4
AFTER = 0.2


class ConversationIndex:
    def __init__(self, *, max_gap_seconds: float = 3600.0) -> None:
        self.max_gap = max_gap_seconds
        self._order: dict[Hashable, list[tuple[float, int]]] = {}
        self._where: dict[int, tuple[Hashable, float]] = {}

    def place(self, key: int, scope: Hashable, timestamp: float) -> None:
        self.drop(key)
        bisect.insort(self._order.setdefault(scope, []), (timestamp, key))
        self._where[key] = (scope, timestamp)

    def drop(self, key: int) -> None:
        found = self._where.pop(key, None)
        if found is None:
            return
        scope, timestamp = found
        order = self._order[scope]
        del order[bisect.bisect_left(order, (timestamp, key))]
        if not order:
            del self._order[scope]

    def neighbours(self, key: int) -> tuple[int | None, int | None]:
        """The previous and next memory of the same conversation, if any."""
        found = self._where.get(key)
        if found is None:
            return None, None
        scope, timestamp = found
        order = self._order[scope]
        i = bisect.bisect_left(order, (timestamp, key))
        before = after = None
        if i > 0 and timestamp - order[i - 1][0] <= self.max_gap:
            before = order[i - 1][1]
        if i + 1 < len(order) and order[i + 1][0] - timestamp <= self.max_gap:
            after = order[i + 1][1]
        return before, after


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
