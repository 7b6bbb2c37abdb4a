"""The keyword channel's incremental inverted index (no scoring here; see ``channels.keyword``).

Every stored version of a document gets a fresh, never reused *slot*; a slot's length and
terms never change, so postings can refer to slots without ever being rewritten. A posting
is 5 bytes: its slot (int32) and a one-byte *code* holding the term's count in the
document's own text (low nibble) and in its context (high nibble); a nibble of 15 means
"look the exact counts up in ``overflow``" (a term repeated 15 times or more in one memory).

Postings are ``channels.postings.Postings``: a merged CSR main segment plus a flat tail.

Writes and their cost:

- ``add`` appends to the postings' tail: O(terms); ``settle`` (after a batch) merges the
  tail into the main segment when it is large, dropping tombstoned postings on the way;
- ``delete`` clears the slot's alive bit (a tombstone) and decrements each term's document
  frequency, found through a forward list slot -> term ids (varint gaps, ~2 bytes an id):
  O(terms);
- when tombstoned slots outnumber live ones (and at least ``COMPACT_MIN_DEAD``), the slots
  are renumbered densely and both segments rewritten: O(postings), amortised O(1).

A read (``gather``) touches only the query terms' postings and filters tombstones there:
O(sum of their lengths), never anything sized by the tenant. Readers never write.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from channels.postings import Postings
from channels.slots import Slots, compact_csr, grown

I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

COMPACT_MIN_DEAD = 4096
SATURATED = 15
MAX_KEY = 2**31 - 1

_NIBBLES = np.arange(256)
_SATURATED = ((_NIBBLES & SATURATED) == SATURATED) | ((_NIBBLES >> 4) == SATURATED)


def _varint_gaps(ascending: list[int]) -> bytes:
    """LEB128 varints of the gaps between ``ascending`` non-negative ints (first from 0)."""
    out = bytearray()
    previous = 0
    for value in ascending:
        gap, previous = value - previous, value
        while gap >= 0x80:
            out.append(gap & 0x7F | 0x80)
            gap >>= 7
        out.append(gap)
    return bytes(out)


def _from_varint_gaps(encoded: bytes | bytearray) -> list[int]:
    values, value, gap, shift = [], 0, 0, 0
    for byte in encoded:
        gap |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            value += gap
            values.append(value)
            gap = shift = 0
    return values


class InvertedIndex(Slots):
    """Term -> (slot, own count, context count) postings over documents with dense keys."""

    def __init__(self) -> None:
        super().__init__()
        self.vocabulary: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int32)
        self.terms = 0
        self.slot_length = np.zeros(0, dtype=np.float32)
        self._forward_start = array("q", [0])
        self._forward = bytearray()
        """Term ids of each slot, ascending, as LEB128 varints of their gaps (~2 bytes an
        id rather than 4: only a delete reads them)."""
        self._postings = 0
        self.store = Postings()
        self.overflow: dict[tuple[int, int], tuple[int, int]] = {}
        """(term id, slot) -> exact (own, context) counts of a saturated code."""
        self.documents = 0
        self.total_length = 0.0
        self.version = 0
        """Bumped by every write, so readers can cache corpus-wide derived values."""

    @property
    def df(self) -> I32:
        """Live document frequency per term id."""
        return self._df[: self.terms]

    # writes

    def add(
        self, key: int, own: Mapping[str, int], context: Mapping[str, int], length: float
    ) -> None:
        """Store document ``key`` (replacing its previous version): the counts of its terms
        in its own text and in its context, and its length |D|."""
        if not 0 <= key <= MAX_KEY:
            raise ValueError(f"keys are in [0, 2**31), got {key}")
        self.delete(key)
        slot = self.take_slot(key)
        self.slot_length = grown(self.slot_length, slot + 1, 0)
        stored = np.float32(length)
        self.slot_length[slot] = stored
        self.documents += 1
        self.total_length += float(stored)
        vocabulary = self.vocabulary
        terms = list(own) + [t for t in context if t not in own]
        for term in terms:
            if term not in vocabulary:
                vocabulary[term] = self.terms
                self.terms += 1
        self._df = grown(self._df, self.terms, 0)
        ids = [vocabulary[t] for t in terms]
        n_own = [own.get(t, 0) for t in terms]
        n_context = [context.get(t, 0) for t in terms]
        codes = []
        for term_id, o, c in zip(ids, n_own, n_context, strict=True):
            if o >= SATURATED or c >= SATURATED:
                self.overflow[term_id, slot] = o, c
                o, c = min(o, SATURATED), min(c, SATURATED)
            codes.append(o | c << 4)
        self.store.extend(ids, slot, codes)
        self._df[ids] += 1  # a document lists a term once
        self._forward += _varint_gaps(sorted(ids))
        self._forward_start.append(len(self._forward))
        self._postings += len(ids)
        self.version += 1

    def settle(self) -> None:
        """Merge the tail into the main segment once it is large (call after a batch)."""
        if self.store.wants_merge():
            self.store.merge(self.terms, self.alive)

    def delete(self, key: int) -> None:
        slot = self.release_slot(key)
        if slot < 0:
            return
        self.documents -= 1
        self.total_length -= float(self.slot_length[slot])
        encoded = self._forward[self._forward_start[slot] : self._forward_start[slot + 1]]
        ids = _from_varint_gaps(encoded)
        np.subtract.at(self._df, ids, 1)
        self._postings -= len(ids)
        self.version += 1
        if self.dead_slots >= max(COMPACT_MIN_DEAD, self.documents):
            self.compact()

    def compact(self) -> None:
        """Renumber the live slots densely and rewrite both segments without tombstones."""
        alive, remap = self.live_remap()
        self.store.merge(self.terms, self.alive, remap)
        self.overflow = {
            (term, int(remap[slot])): counts
            for (term, slot), counts in self.overflow.items()
            if alive[slot]
        }
        forward, self._forward_start = compact_csr(
            np.frombuffer(self._forward, dtype=np.uint8), self._forward_start, alive
        )
        self._forward = bytearray(forward.tobytes())
        self.slot_length = self.slot_length[: self.slots][alive].copy()
        self.renumber(alive)

    # reads

    def gather(self, term_ids: Sequence[int], context_weight: float) -> tuple[I32, I32, U8, F64]:
        """Live postings of ``term_ids``: (slots, position of the term in ``term_ids``,
        codes, tf = own count + ``context_weight`` * context count), term by term, each
        term's slots ascending. A code's low nibble is 0 when the term is only in the
        context."""
        slot, which_of, code = self.store.gather(term_ids, self.alive)
        lookup = (_NIBBLES & SATURATED) + context_weight * (_NIBBLES >> 4)
        tf = lookup[code]
        saturated = np.flatnonzero(_SATURATED[code])
        for i in saturated.tolist():
            n_own, n_context = self.overflow[int(term_ids[which_of[i]]), int(slot[i])]
            tf[i] = n_own + context_weight * n_context
        return slot, which_of, code, tf

    def postings(self, term_id: int) -> tuple[I32, I32, I32]:
        """Live (slots ascending, own counts, context counts) of one term."""
        slots, _, code, _ = self.gather([term_id], 0.0)
        own, context = (code & SATURATED).astype(np.int32), (code >> 4).astype(np.int32)
        for i in np.flatnonzero(_SATURATED[code]).tolist():
            own[i], context[i] = self.overflow[term_id, int(slots[i])]
        return slots, own, context

    def postings_count(self) -> int:
        """Postings of the live documents."""
        return self._postings

    def nbytes(self) -> int:
        """Bytes held: arrays, both posting segments, the vocabulary's dict and strings."""
        arrays: tuple[npt.NDArray[Any], ...] = (*self.slot_arrays(), self.slot_length, self._df)
        size = sum(a.nbytes for a in arrays)
        size += sys.getsizeof(self._forward) + sys.getsizeof(self._forward_start)
        size += sys.getsizeof(self.vocabulary) + self.store.nbytes()
        size += sum(sys.getsizeof(term) + 28 for term in self.vocabulary)
        size += sys.getsizeof(self.overflow) + 150 * len(self.overflow)
        return size
