"""Compact, append-mostly postings: term id -> (slot, one-byte code), for the keyword and
graph channels' indexes.

A *slot* is one stored version of a document (never reused; a replaced or removed document
leaves a tombstoned slot behind, see the owners' ``alive`` arrays). Postings live in two
segments, Lucene-style:

- the *main* segment, a CSR over term ids (``main_start[t] : main_start[t + 1]`` into
  ``main_slot`` int32 / ``main_code`` uint8), sorted by (term, slot): 5 bytes a posting and
  8 bytes a term, no Python object per term;
- the *tail*, recent appends: per term, growable ``array.array`` buffers (slot, code).
  Slots only grow, so a term's tail postings all come after its main ones.

``append`` is O(1). ``merge`` folds the tail into the main segment and drops tombstoned
postings on the way: O(postings); the owner calls it when ``wants_merge`` (the tail holds
more than ``max(TAIL_MIN, main / TAIL_RATIO)`` postings), so each posting is merged
O(TAIL_RATIO) times amortised. ``gather`` reads only the asked terms' postings and filters
tombstones there: O(their length), nothing sized by the tenant. Readers never write.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

TAIL_MIN = 1 << 18
TAIL_RATIO = 8


class Postings:
    def __init__(self) -> None:
        self.main_start = np.zeros(1, dtype=np.int64)
        self.main_slot = np.zeros(0, dtype=np.int32)
        self.main_code = np.zeros(0, dtype=np.uint8)
        self.tail: dict[int, tuple[array[int], array[int]]] = {}
        self.tail_postings = 0

    def append(self, term_id: int, slot: int, code: int = 0) -> None:
        pair = self.tail.get(term_id)
        if pair is None:
            pair = self.tail[term_id] = array("i"), array("B")
        pair[0].append(slot)  # readers copy what they gather: no view outlives a read
        pair[1].append(code)
        self.tail_postings += 1

    def wants_merge(self) -> bool:
        return self.tail_postings > max(TAIL_MIN, self.main_slot.shape[0] // TAIL_RATIO)

    def merge(self, terms: int, alive: Mask, remap: I32 | None = None) -> None:
        """Fold the tail into the main segment over ``terms`` term ids, keeping the
        postings of ``alive`` slots only; ``remap`` (old slot -> new) renumbers them."""
        counts = np.diff(self.main_start)
        old_terms = np.repeat(np.arange(counts.shape[0], dtype=np.int32), counts)
        tail_ids = sorted(self.tail)
        tail_counts = [len(self.tail[t][0]) for t in tail_ids]
        tail_terms = np.repeat(np.array(tail_ids, dtype=np.int32), tail_counts)
        tail_slots = np.frombuffer(b"".join(self.tail[t][0] for t in tail_ids), dtype=np.int32)
        tail_codes = np.frombuffer(b"".join(self.tail[t][1] for t in tail_ids), dtype=np.uint8)
        term = np.concatenate([old_terms, tail_terms])
        slot = np.concatenate([self.main_slot, tail_slots])
        code = np.concatenate([self.main_code, tail_codes])
        keep = alive[slot]
        term, slot, code = term[keep], slot[keep], code[keep]
        # two runs sorted by term, and a term's tail slots follow its main ones: a stable
        # sort (timsort merges the runs in linear time) keeps every list sorted by slot
        order = np.argsort(term, kind="stable")
        term, slot, code = term[order], slot[order], code[order]
        if remap is not None:
            slot = remap[slot]
        start = np.zeros(terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=terms), out=start[1:])
        self.main_start, self.main_slot, self.main_code = start, slot, code
        self.tail, self.tail_postings = {}, 0

    def gather(self, term_ids: Sequence[int], alive: Mask) -> tuple[I32, I32, U8]:
        """Postings of ``term_ids`` on ``alive`` slots: (slots, position of the term in
        ``term_ids``, codes), term by term, each term's slots ascending."""
        parts: list[tuple[I32, U8, int]] = []
        last = self.main_start.shape[0] - 1
        for which, term_id in enumerate(term_ids):
            if term_id < last:
                lo, hi = self.main_start[term_id], self.main_start[term_id + 1]
                parts.append((self.main_slot[lo:hi], self.main_code[lo:hi], which))
            pair = self.tail.get(term_id)
            if pair is not None:
                tail = (np.frombuffer(pair[0], np.int32), np.frombuffer(pair[1], np.uint8))
                parts.append((*tail, which))
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint8)
        slot = np.concatenate([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        which_of = np.repeat(
            np.array([p[2] for p in parts], dtype=np.int32), [p[0].shape[0] for p in parts]
        )
        keep = alive[slot]
        return slot[keep], which_of[keep], code[keep]

    def nbytes(self) -> int:
        size = self.main_start.nbytes + self.main_slot.nbytes + self.main_code.nbytes
        size += sys.getsizeof(self.tail)
        for slots, codes in self.tail.values():
            size += 56 + sys.getsizeof(slots) + sys.getsizeof(codes)
        return size


def in_sorted(values: npt.NDArray[np.integer[Any]], sorted_keys: npt.NDArray[np.int64]) -> Mask:
    """Which ``values`` are in ``sorted_keys`` (binary search: O(len(values) log n), no
    array sized by the key space)."""
    if sorted_keys.size == 0:
        return np.zeros(values.shape[0], dtype=bool)
    at = np.searchsorted(sorted_keys, values).clip(max=sorted_keys.size - 1)
    return cast(Mask, sorted_keys[at] == values)
