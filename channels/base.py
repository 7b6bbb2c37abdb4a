"""The contract every retrieval channel implements.

A channel is an in-memory, derived index over the memories of one tenant. The retrieval
engine (``channels.engine``) owns one instance of every registered channel per tenant and
keeps them in step with SQL: it calls ``upsert`` after every committed write, ``remove``
after every delete and ``rebuild`` at start-up. Documents carry a dense integer ``key``
assigned by the engine's catalog; channels speak keys, never UUIDs.

Contract (checked by ``tests/unit/test_channel_contract.py`` against every channel):

- ``upsert(docs)`` adds or replaces documents by key; it is incremental (it never
  rebuilds the whole index) and idempotent (upserting the same doc twice changes nothing).
- ``remove(keys)`` forgets documents; unknown keys are ignored. A removed key is never
  returned by ``search`` again.
- ``rebuild(docs)`` replaces the whole state; ``rebuild(d)`` then ``search(q)`` gives the
  same result as upserting ``d`` one by one into an empty channel.
- ``search(query)`` returns at most ``query.limit`` hits, best first, scores non-increasing,
  only keys in ``query.allowed`` when it is not ``None``, deterministic ties (by key).
  A channel that has nothing to say for a query (no terms, no entities, no time expression)
  returns an empty list rather than noise.
- ``stats()`` reports the document count and the bytes the index holds.

Channels are called from worker threads; the engine serialises writes against searches,
so a channel needs no locking of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
KeyArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Doc:
    """One memory as the channels see it."""

    key: int
    content: str
    occurred_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict)
    vector: FloatArray | None = None
    """Unit-norm float32 embedding (dequantized from storage); ``None`` if not embedded."""
    tier: str = "hot"
    """Lifecycle tier: ``hot``, ``warm``, ``cold`` or ``archived``."""
    context_before: str = ""
    """The previous memory of the same conversation (``channels.context``), or ""."""
    context_after: str = ""
    """The next memory of the same conversation, or ""."""
    context_vector: FloatArray | None = None
    """Weighted sum of the neighbouring memories' vectors (``channels.context``), or None."""


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    reference_time: datetime
    """The "now" that relative time expressions in ``text`` resolve against (UTC)."""
    limit: int = 50
    vector: FloatArray | None = None
    """The query's unit-norm embedding, computed once by the caller."""
    allowed: KeyArray | None = None
    """Keys in scope (sorted, unique); ``None`` means every document of the tenant."""


@dataclass(frozen=True, slots=True)
class Hit:
    key: int
    score: float
    why: Mapping[str, Any] = field(default_factory=dict)
    """Channel-specific explanation: matched terms, entities and path, time window…"""


@dataclass(frozen=True, slots=True)
class ChannelStats:
    documents: int
    index_bytes: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Channel(Protocol):
    name: str

    def upsert(self, docs: Sequence[Doc]) -> None: ...

    def remove(self, keys: Sequence[int]) -> None: ...

    def rebuild(self, docs: Iterable[Doc]) -> None: ...

    def search(self, query: Query) -> list[Hit]: ...

    def stats(self) -> ChannelStats: ...


def allowed_mask(allowed: KeyArray | None, keys: KeyArray) -> npt.NDArray[np.bool_]:
    """Boolean mask over ``keys``: which of them are in scope."""
    if allowed is None:
        return np.ones(keys.shape[0], dtype=bool)
    return np.isin(keys, allowed, assume_unique=False)


def top_hits(keys: KeyArray, scores: FloatArray, limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best (key, score) pairs, score descending, ties broken by key ascending."""
    if keys.size == 0 or limit <= 0:
        return []
    if keys.size > limit * 4:
        part = np.argpartition(-scores, limit - 1)[:limit]
        # keep every candidate tied with the cut-off score so the tie-break stays deterministic
        cutoff = scores[part].min()
        part = np.flatnonzero(scores >= cutoff)
        keys, scores = keys[part], scores[part]
    order = np.lexsort((keys, -scores))[:limit]
    return [(int(keys[i]), float(scores[i])) for i in order]
