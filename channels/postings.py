"""Compact, append-mostly postings: term id -> (slot, one-byte code), for the keyword and
graph channels' indexes.

A *slot* is one stored version of a document (never reused; a replaced or removed document
leaves a tombstoned slot behind, see the owners' ``alive`` arrays). Postings live in two
segments, Lucene-style:

- the *main* segment, a CSR over term ids (``main_start[t] : main_start[t + 1]`` into
  ``main_slot`` int32 / ``main_code`` uint8, no codes when built with ``codes=False``),
  sorted by (term, slot): 5 bytes a posting (4 without codes) and
  8 bytes a term, no Python object per term;
- the *tail*, recent appends: three flat growable ``array.array`` (term, slot, code),
  9 bytes a posting and no object per term. Slots only grow, so a term's tail postings
  all come after its main ones.

``append`` is O(1). ``merge`` folds the tail into the main segment and drops tombstoned
postings on the way: O(postings); the owner calls it after a batch when ``wants_merge``
(the tail holds more than ``TAIL_MIN`` postings), so a stream of single writes pays
O(postings / TAIL_MIN) per write, and a bulk load one merge. ``gather`` reads the asked
terms' main postings and scans the tail (at most ``TAIL_MIN`` entries between batches),
filtering tombstones there: nothing sized by the tenant. Readers never write.
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

TAIL_MIN = 1 << 17


class Postings:
    def __init__(self, *, codes: bool = True) -> None:
        self.codes = codes
        """False: postings carry no code (0 when read) and store 4 bytes, not 5."""
        self.main_start = np.zeros(1, dtype=np.int64)
        self.main_slot = np.zeros(0, dtype=np.int32)
        self.main_code = np.zeros(0, dtype=np.uint8)
        self.tail_term = array("i")
        self.tail_slot = array("i")
        self.tail_code = array("B")

    @property
    def tail_postings(self) -> int:
        return len(self.tail_slot)

    def append(self, term_id: int, slot: int, code: int = 0) -> None:
        self.tail_term.append(term_id)  # readers copy what they gather: no view outlives
        self.tail_slot.append(slot)  # a read, so appends never meet a pinned buffer
        if self.codes:
            self.tail_code.append(code)

    def extend(self, term_ids: list[int], slot: int, codes: list[int]) -> None:
        """``append`` for every term of one slot."""
        self.tail_term.extend(term_ids)
        self.tail_slot.extend([slot] * len(term_ids))
        if self.codes:
            self.tail_code.extend(codes)

    def wants_merge(self) -> bool:
        return self.tail_postings > TAIL_MIN

    def merge(self, terms: int, alive: Mask, remap: I32 | None = None) -> None:
        """Fold the tail into the main segment over ``terms`` term ids, keeping the
        postings of ``alive`` slots only; ``remap`` (old slot -> new) renumbers them."""
        counts = np.diff(self.main_start)
        term = np.concatenate(
            [
                np.repeat(np.arange(counts.shape[0], dtype=np.int32), counts),
                np.frombuffer(self.tail_term, dtype=np.int32),
            ]
        )
        slot = np.concatenate([self.main_slot, np.frombuffer(self.tail_slot, dtype=np.int32)])
        code = np.concatenate([self.main_code, np.frombuffer(self.tail_code, dtype=np.uint8)])
        self.tail_term, self.tail_slot, self.tail_code = array("i"), array("i"), array("B")
        keep = alive[slot]
        term, slot = term[keep], slot[keep]
        code = code[keep] if self.codes else code
        # main is sorted by (term, slot) and the tail by slot: a stable sort by term keeps
        # every list sorted by slot
        order = np.argsort(term, kind="stable")
        slot = slot[order]
        code = code[order] if self.codes else code
        if remap is not None:
            slot = remap[slot]
        start = np.zeros(terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=terms), out=start[1:])
        self.main_start, self.main_slot, self.main_code = start, slot, code

    def gather(self, term_ids: Sequence[int], alive: Mask) -> tuple[I32, I32, U8]:
        """Postings of ``term_ids`` on ``alive`` slots: (slots, position of the term in
        ``term_ids``, codes), term by term, each term's slots ascending."""
        wanted = np.asarray(term_ids, dtype=np.int32)
        tail_term = np.frombuffer(self.tail_term, dtype=np.int32)
        in_tail = np.flatnonzero(np.isin(tail_term, wanted))
        tail_which = np.zeros(0, dtype=np.int64)
        if in_tail.size:
            by_id = np.argsort(wanted, kind="stable")
            tail_which = by_id[np.searchsorted(wanted[by_id], tail_term[in_tail])]
            order = np.argsort(tail_which, kind="stable")
            in_tail, tail_which = in_tail[order], tail_which[order]
        tail_bounds = np.searchsorted(tail_which, np.arange(wanted.shape[0] + 1))
        tail_slot = np.frombuffer(self.tail_slot, dtype=np.int32)
        tail_code = np.frombuffer(self.tail_code, dtype=np.uint8)
        codes = self.codes
        parts: list[tuple[I32, U8 | None, int]] = []
        last = self.main_start.shape[0] - 1
        for which, term_id in enumerate(term_ids):
            if term_id < last:
                lo, hi = self.main_start[term_id], self.main_start[term_id + 1]
                parts.append(
                    (self.main_slot[lo:hi], self.main_code[lo:hi] if codes else None, which)
                )
            if tail_bounds[which] < tail_bounds[which + 1]:
                at = in_tail[tail_bounds[which] : tail_bounds[which + 1]]
                parts.append((tail_slot[at], tail_code[at] if codes else None, which))
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint8)
        slot = np.concatenate([p[0] for p in parts])
        code = (
            np.concatenate([p[1] for p in parts if p[1] is not None])
            if codes
            else np.zeros(slot.shape[0], dtype=np.uint8)
        )
        which_of = np.repeat(
            np.array([p[2] for p in parts], dtype=np.int32), [p[0].shape[0] for p in parts]
        )
        keep = alive[slot]
        return slot[keep], which_of[keep], code[keep]

    def nbytes(self) -> int:
        size = self.main_start.nbytes + self.main_slot.nbytes + self.main_code.nbytes
        for buffer in (self.tail_term, self.tail_slot, self.tail_code):
            size += sys.getsizeof(buffer)
        return size


def in_sorted(values: npt.NDArray[np.integer[Any]], sorted_keys: npt.NDArray[np.int64]) -> Mask:
    """Which ``values`` are in ``sorted_keys`` (binary search: O(len(values) log n), no
    array sized by the key space)."""
    if sorted_keys.size == 0:
        return np.zeros(values.shape[0], dtype=bool)
    at = np.searchsorted(sorted_keys, values).clip(max=sorted_keys.size - 1)
    return cast(Mask, sorted_keys[at] == values)
