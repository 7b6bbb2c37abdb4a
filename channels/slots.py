"""Slot bookkeeping shared by the keyword, graph and temporal indexes.

A *slot* is one stored version of a document: handed out in order, never reused while the
index lives, so postings that name a slot never need rewriting. A replaced or removed
document leaves a tombstoned slot (``alive`` false); ``compact_slots`` renumbers the live
ones densely once tombstones pile up, and the owner rewrites its own per-slot data with the
returned mask and remap.
"""

from __future__ import annotations

from array import array
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

_A = TypeVar("_A", bound=npt.NDArray[Any])


def grown(values: _A, size: int, fill: Any = 0, *, minimum: int = 64) -> _A:
    """``values`` with room for ``size`` rows (capacity grows by half; new rows ``fill``)."""
    if size <= values.shape[0]:
        return values
    rows = max(size, values.shape[0] + values.shape[0] // 2, minimum)
    out = np.full((rows, *values.shape[1:]), fill, values.dtype)
    out[: values.shape[0]] = values
    return cast(_A, out)


def compact_csr(
    data: npt.NDArray[Any], starts: array[int], alive: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[Any], array[int]]:
    """The rows of a CSR list (``data[starts[i]:starts[i + 1]]`` per slot) of live slots."""
    offsets = np.frombuffer(starts, dtype=np.int64)
    lengths = np.diff(offsets)
    kept = data[np.repeat(alive, lengths)]
    new_starts = array("q", [0])
    new_starts.frombytes(np.cumsum(lengths[alive], dtype=np.int64).tobytes())
    return kept, new_starts


class Slots:
    """Dense keys -> slots: ``slot_key``, ``alive`` and the inverse ``key -> slot``."""

    def __init__(self) -> None:
        self.slot_key = np.zeros(0, dtype=np.int32)
        self.alive = np.zeros(0, dtype=bool)
        self.slots = 0
        """Slots handed out so far (live and tombstoned)."""
        self.dead_slots = 0
        self._slot_of_key = np.zeros(0, dtype=np.int32)

    def slot_of(self, key: int) -> int:
        if 0 <= key < self._slot_of_key.shape[0]:
            return int(self._slot_of_key[key])
        return -1

    def take_slot(self, key: int) -> int:
        """A fresh slot for ``key`` (whose previous slot the caller released)."""
        if not 0 <= key < 2**31:
            raise ValueError(f"keys are in [0, 2**31), got {key}")
        slot = self.slots
        if slot >= self.alive.shape[0]:
            self.slot_key = grown(self.slot_key, slot + 1, -1)
            self.alive = grown(self.alive, slot + 1, False)
        if key >= self._slot_of_key.shape[0]:
            self._slot_of_key = grown(self._slot_of_key, key + 1, -1)
        self.slot_key[slot], self.alive[slot] = key, True
        self._slot_of_key[key] = slot
        self.slots += 1
        return slot

    def release_slot(self, key: int) -> int:
        """Tombstone ``key``'s slot and return it (-1 if ``key`` is not stored)."""
        slot = self.slot_of(key)
        if slot >= 0:
            self._slot_of_key[key] = -1
            self.alive[slot] = False
            self.dead_slots += 1
        return slot

    def live_remap(self) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32]]:
        """The live mask over the slots handed out, and old slot -> new slot once renumbered
        (read the owner's per-slot data with these, then call ``renumber``)."""
        alive = self.alive[: self.slots].copy()
        return alive, (np.cumsum(alive, dtype=np.int64) - 1).astype(np.int32)

    def renumber(self, alive: npt.NDArray[np.bool_]) -> None:
        """Keep only the live slots, densely numbered in their order."""
        live = int(alive.sum())
        self.slot_key = self.slot_key[: self.slots][alive].copy()
        self.alive = np.ones(live, dtype=bool)
        self._slot_of_key[self.slot_key] = np.arange(live, dtype=np.int32)
        self.slots, self.dead_slots = live, 0

    def slot_arrays(self) -> tuple[npt.NDArray[Any], ...]:
        return self.slot_key, self.alive, self._slot_of_key
