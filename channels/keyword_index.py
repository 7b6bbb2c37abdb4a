"""The keyword channel's incremental inverted index (no scoring here; see ``channels.keyword``).

Every stored version of a document gets a fresh, never reused *slot*; a slot's length and
terms never change, so postings can refer to slots without ever being rewritten:

- ``add`` appends (slot, tf) to the postings of each of the document's terms, growable
  ``array.array`` buffers that readers see as zero-copy numpy views: O(terms);
- ``delete`` clears the slot's alive bit (a tombstone) and decrements each term's document
  frequency, found through a CSR forward index slot -> term ids: O(terms);
- a term's tombstoned postings are filtered out lazily, when the term is next read
  (``postings``): O(df) numpy work, once per term per batch of deletes;
- when tombstoned slots outnumber live ones (and at least ``COMPACT_MIN_DEAD``), the slots
  are renumbered and every posting list compacted: O(postings), amortised O(1) per write.

Slots grow in order, so every posting list is sorted by slot.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

COMPACT_MIN_DEAD = 4096


_A = TypeVar("_A", bound=npt.NDArray[Any])


def _grown(values: _A, size: int, fill: float) -> _A:
    if size <= values.shape[0]:
        return values
    grown = np.full(max(size, 2 * values.shape[0], 64), fill, dtype=values.dtype)
    grown[: values.shape[0]] = values
    return cast(_A, grown)


class InvertedIndex:
    """Term -> (slot, tf) postings over documents identified by dense non-negative keys.

    A term's postings are two parallel ``array.array`` (slots int32, tfs float32) that
    appends grow in place and readers see as zero-copy numpy views (``postings``).
    """

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._lists: list[tuple[array[int], array[float]]] = []
        """Per term id: (slots, tfs), swapped as one tuple so that concurrent readers that
        compact a list lazily never see slots and tfs of different versions."""
        self._dead: list[int] = []
        """Per term id: tombstoned slots still listed in its postings."""
        self.df: list[int] = []
        """Per term id: live document frequency."""
        self.slot_key = np.zeros(0, dtype=np.int64)
        self.slot_length = np.zeros(0, dtype=np.float64)
        self.alive = np.zeros(0, dtype=bool)
        self.slots = 0
        """Slots handed out so far (live and tombstoned)."""
        self._slot_of_key = np.zeros(0, dtype=np.int64)
        self._forward_start = array("q", [0])
        self._forward = array("i")
        """Term ids of each slot; ``~id`` (negative) for a term that is only in the context."""
        self.documents = 0
        self.total_length = 0.0
        self.dead_slots = 0
        self.version = 0
        """Bumped by every write, so readers can cache corpus-wide derived values."""

    # writes

    def add(self, key: int, weights: dict[str, float], own: set[str], length: float) -> None:
        """Store document ``key`` (replacing its previous version) with term ``weights``
        (its tf per term), ``own`` (the terms of its own text) and ``length`` (|D|)."""
        self.delete(key)
        slot = self.slots
        if slot >= self.alive.shape[0]:
            self.slot_key = _grown(self.slot_key, slot + 1, -1)
            self.slot_length = _grown(self.slot_length, slot + 1, 0)
            self.alive = _grown(self.alive, slot + 1, False)
        if key >= self._slot_of_key.shape[0]:
            self._slot_of_key = _grown(self._slot_of_key, key + 1, -1)
        self.slot_key[slot], self.slot_length[slot], self.alive[slot] = key, length, True
        self._slot_of_key[key] = slot
        self.slots += 1
        self.documents += 1
        self.total_length += length
        vocabulary, df, forward = self.vocabulary, self.df, self._forward
        lists = self._lists
        for term, tf in weights.items():
            term_id = vocabulary.get(term)
            if term_id is None:
                term_id = vocabulary[term] = len(df)
                lists.append((array("i"), array("f")))
                self._dead.append(0)
                df.append(0)
            slots, tfs = lists[term_id]
            try:
                slots.append(slot)
                tfs.append(tf)
            except BufferError:  # a reader's numpy view pins the buffer: append to copies
                slots, tfs = array("i", slots), array("f", tfs)
                if len(slots) == len(tfs):
                    slots.append(slot)
                tfs.append(tf)
                lists[term_id] = slots, tfs
            df[term_id] += 1
            forward.append(term_id if term in own else ~term_id)
        self._forward_start.append(len(forward))
        self.version += 1

    def delete(self, key: int) -> None:
        slot = self.slot_of(key)
        if slot < 0:
            return
        self._slot_of_key[key] = -1
        self.alive[slot] = False
        self.documents -= 1
        self.total_length -= float(self.slot_length[slot])
        self.dead_slots += 1
        df, dead = self.df, self._dead
        for code in self._forward[self._forward_start[slot] : self._forward_start[slot + 1]]:
            term_id = code if code >= 0 else ~code
            df[term_id] -= 1
            if df[term_id] == 0:  # every posting left is a tombstone: drop them now
                self._lists[term_id] = array("i"), array("f")
                dead[term_id] = 0
            else:
                dead[term_id] += 1
        self.version += 1
        if self.dead_slots >= max(COMPACT_MIN_DEAD, self.documents):
            self.compact()

    def compact(self) -> None:
        """Renumber the live slots densely and compact every posting list."""
        alive = self.alive[: self.slots]
        remap = (np.cumsum(alive, dtype=np.int64) - 1).astype(np.int32)
        for term_id in range(len(self.df)):
            slots, tfs = self.postings(term_id)
            self._lists[term_id] = array("i", remap[slots].tobytes()), array("f", tfs.tobytes())
        starts = np.frombuffer(self._forward_start, dtype=np.int64)
        lengths = np.diff(starts)
        forward = np.frombuffer(self._forward, dtype=np.int32)[np.repeat(alive, lengths)]
        self._forward = array("i", forward.tobytes())
        self._forward_start = array("q", [0])
        self._forward_start.frombytes(np.cumsum(lengths[alive], dtype=np.int64).tobytes())
        live = int(alive.sum())
        self.slot_key = self.slot_key[: self.slots][alive].copy()
        self.slot_length = self.slot_length[: self.slots][alive].copy()
        self.alive = np.ones(live, dtype=bool)
        self._slot_of_key[self.slot_key] = np.arange(live, dtype=np.int64)
        self.slots, self.dead_slots = live, 0

    # reads

    def slot_of(self, key: int) -> int:
        if 0 <= key < self._slot_of_key.shape[0]:
            return int(self._slot_of_key[key])
        return -1

    def slots_of(self, keys: I64) -> I64:
        """The live slots of ``keys`` (unknown and removed keys are dropped)."""
        keys = keys[(keys >= 0) & (keys < self._slot_of_key.shape[0])]
        slots = self._slot_of_key[keys]
        return slots[slots >= 0]

    def postings(self, term_id: int) -> tuple[I32, F32]:
        """Live (slots ascending, tfs) of a term, as read-only numpy views: do not keep them
        past the read (a view pins its buffer, so an append must then copy the postings)."""
        # Concurrent readers may compact the same list: read the tombstone count before the
        # lists and reset it after swapping them, so a reader that sees 0 sees clean lists.
        dead = self._dead[term_id]
        slot_list, tf_list = self._lists[term_id]
        slots = np.frombuffer(slot_list, dtype=np.int32)
        tfs = np.frombuffer(tf_list, dtype=np.float32)
        if dead:
            keep = self.alive[slots]
            slots, tfs = slots[keep], tfs[keep]
            self._lists[term_id] = array("i", slots.tobytes()), array("f", tfs.tobytes())
            self._dead[term_id] = 0
        return slots, tfs

    def terms_of(self, slot: int) -> tuple[list[int], list[int]]:
        """Term ids of a slot: (in its own text, only in its context)."""
        codes = self._forward[self._forward_start[slot] : self._forward_start[slot + 1]]
        return [c for c in codes if c >= 0], [~c for c in codes if c < 0]

    def postings_count(self) -> int:
        """Stored postings, tombstones included."""
        return len(self._forward)

    def nbytes(self) -> int:
        """Bytes held: arrays, posting buffers, the vocabulary's dict and strings."""
        arrays = (self.slot_key, self.slot_length, self.alive, self._slot_of_key)
        size = sum(a.nbytes for a in arrays)
        size += sys.getsizeof(self._forward) + sys.getsizeof(self._forward_start)
        for container in (self.vocabulary, self._lists, self._dead, self.df):
            size += sys.getsizeof(container)
        size += sum(sys.getsizeof(term) for term in self.vocabulary)
        for pair in self._lists:
            size += sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
        return size
