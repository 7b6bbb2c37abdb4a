"""The temporal channel's intervals and words, in growable arrays (search: ``channels.temporal``).

Every stored version of a memory gets a *slot* (tombstoned when replaced or removed). Its
intervals (``[start, end)`` in epoch seconds, a label id -- 0 for the event day, else the
interned expression of a mentioned date -- and the interval's ordinal within the memory)
live in one of three segments:

- *main*: short intervals (at most ``SHORT`` long) sorted by start, so the intervals near a
  window ``[s, e)`` within ``reach`` are one ``searchsorted`` range:
  ``s - reach - SHORT <= start <= e + reach``;
- *tail*: recent short intervals, unsorted, scanned whole; merged into main (dropping
  tombstones) when it outgrows ``max(TAIL_MIN, main / TAIL_RATIO)``: amortised O(1) a write;
- *long*: the few long intervals (a mentioned month or year), scanned whole.

A memory's words are a CSR list of 32-bit hashes of its distinct tokens (a collision can
only add a word of overlap, with probability ~ words^2 / 2^32).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from channels.slots import Slots, compact_csr

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]

DAY = 86_400.0
SHORT = 8 * DAY
TAIL_MIN = 8192
TAIL_RATIO = 64
COMPACT_MIN_DEAD = 4096
FIELDS = (("start", "d"), ("end", "d"), ("slot", "i"), ("label", "i"), ("ordinal", "B"))


def word_hashes(words: Sequence[str]) -> U32:
    """Distinct 32-bit hashes of ``words`` (stable within a process)."""
    return np.unique(np.array([hash(w) & 0xFFFFFFFF for w in words], dtype=np.uint32))


def _member(values: U32, query: U32) -> npt.NDArray[np.bool_]:
    """``np.isin(values, query)`` for a handful of query hashes: a 64 KiB table on the low
    16 bits screens every value in one pass; only the few that pass are compared."""
    table = np.zeros(1 << 16, dtype=bool)
    table[query & 0xFFFF] = True
    low = values.view(np.uint16)[::2] if sys.byteorder == "little" else values & 0xFFFF
    found = table[low]
    maybe = np.flatnonzero(found)
    found[maybe] = np.isin(values[maybe], query)
    return cast(npt.NDArray[np.bool_], found)


def _empty() -> dict[str, array[Any]]:
    return {name: array(code) for name, code in FIELDS}


def _view(segment: dict[str, array[Any]]) -> dict[str, npt.NDArray[Any]]:
    return {
        name: np.frombuffer(segment[name], dtype=np.dtype(code)).copy() for name, code in FIELDS
    }


class IntervalIndex(Slots):
    def __init__(self) -> None:
        super().__init__()
        self.main: dict[str, npt.NDArray[Any]] = _view(_empty())
        self.tail = _empty()
        self.long = _empty()
        self.labels: dict[str, int] = {"occurred_at": 0}
        self.label_names = ["occurred_at"]
        self._words = array("I")
        self._words_start = array("q", [0])
        self.memories = 0

    # writes

    def add(self, key: int, spans: Sequence[tuple[float, float, str]], words: U32) -> None:
        """Store memory ``key`` (replacing its previous version): its intervals
        (start, end, label) in order, and its distinct word hashes."""
        self.delete(key)
        slot = self.take_slot(key)
        self.memories += 1
        for ordinal, (start, end, label) in enumerate(spans[:255]):
            label_id = self.labels.get(label)
            if label_id is None:
                label_id = self.labels[label] = len(self.label_names)
                self.label_names.append(label)
            segment = self.tail if end - start <= SHORT else self.long
            for name, value in zip(
                ("start", "end", "slot", "label", "ordinal"),
                (start, end, slot, label_id, ordinal),
                strict=True,
            ):
                segment[name].append(value)
        self._words.frombytes(words.tobytes())
        self._words_start.append(len(self._words))

    def settle(self) -> None:
        """Merge the tail into main once it is large (call after a batch)."""
        if len(self.tail["slot"]) > max(TAIL_MIN, self.main["slot"].shape[0] // TAIL_RATIO):
            self._merge()

    def _merge(self, remap: I32 | None = None) -> None:
        tail = _view(self.tail)
        merged = {name: np.concatenate([self.main[name], tail[name]]) for name, _ in FIELDS}
        keep = self.alive[merged["slot"]]
        order = np.argsort(merged["start"][keep], kind="stable")
        self.main = {name: values[keep][order] for name, values in merged.items()}
        self.tail = _empty()
        if remap is not None:
            self.main["slot"] = remap[self.main["slot"]]
            long = _view(self.long)
            keep = self.alive[long["slot"]]
            long = {name: values[keep] for name, values in long.items()}
            long["slot"] = remap[long["slot"]]
            self.long = {name: array(code, long[name].tobytes()) for name, code in FIELDS}

    def delete(self, key: int) -> None:
        if self.release_slot(key) < 0:
            return
        self.memories -= 1
        if self.dead_slots >= max(COMPACT_MIN_DEAD, self.memories):
            self.compact()

    def compact(self) -> None:
        """Renumber the live slots densely; drop tombstoned intervals and word lists."""
        alive, remap = self.live_remap()
        self._merge(remap)
        words, self._words_start = compact_csr(
            np.frombuffer(self._words, dtype=np.uint32), self._words_start, alive
        )
        self._words = array("I", words.tobytes())
        self.renumber(alive)

    # reads

    def near(self, s: float, e: float, reach: float) -> dict[str, npt.NDArray[Any]]:
        """Live intervals that may lie within ``reach`` of ``[s, e)`` (a superset: the
        caller computes exact distances): the main range plus the tail and long lists."""
        main = self.main
        lo = int(np.searchsorted(main["start"], s - reach - SHORT, side="left"))
        hi = int(np.searchsorted(main["start"], e + reach, side="right"))
        tail, long = self.tail, self.long
        parts = [
            {name: main[name][lo:hi] for name, _ in FIELDS},
            {name: np.frombuffer(tail[name], np.dtype(code)) for name, code in FIELDS},
            {name: np.frombuffer(long[name], np.dtype(code)) for name, code in FIELDS},
        ]
        out = {name: np.concatenate([p[name] for p in parts]) for name, _ in FIELDS}
        keep = self.alive[out["slot"]]
        return {name: values[keep] for name, values in out.items()}

    def overlap(self, slots: I32, query: U32) -> I64:
        """How many of the ``query`` word hashes each slot's words contain: one pass over
        the words of the slots' range when they fill half of it (slots of a time window
        are mostly consecutive), else over theirs only."""
        if slots.size == 0 or query.size == 0:
            return np.zeros(slots.shape[0], dtype=np.int64)
        starts = np.frombuffer(self._words_start, dtype=np.int64)
        words = np.frombuffer(self._words, dtype=np.uint32)
        first, last = int(slots.min()), int(slots.max())
        if 2 * slots.shape[0] >= last - first + 1:
            base = int(starts[first])
            hit = _member(words[base : starts[last + 1]], query)
            seen = np.zeros(hit.shape[0] + 1, dtype=np.int32)
            np.cumsum(hit, out=seen[1:])
            counts = seen[starts[slots + 1] - base] - seen[starts[slots] - base]
            return counts.astype(np.int64)
        lo, hi = starts[slots], starts[slots + 1]
        lengths = hi - lo
        total = int(lengths.sum())
        owner = np.repeat(np.arange(slots.shape[0]), lengths)
        at = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths) + lo[owner]
        return np.bincount(owner[_member(words[at], query)], minlength=slots.shape[0])

    def intervals(self) -> int:
        return int(self.main["slot"].shape[0]) + len(self.tail["slot"]) + len(self.long["slot"])

    def nbytes(self) -> int:
        size = sum(v.nbytes for v in self.main.values())
        for segment in (self.tail, self.long):
            size += sum(sys.getsizeof(v) for v in segment.values())
        size += sum(a.nbytes for a in self.slot_arrays())
        size += sys.getsizeof(self._words) + sys.getsizeof(self._words_start)
        size += sys.getsizeof(self.labels) + sum(100 + len(k) for k in self.labels)
        return size
