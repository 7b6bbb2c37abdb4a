"""A compact map from 64-bit hashes to int32 ids: two sorted arrays plus a small dict.

Entries land in a dict of recent ones and are merged into a sorted ``int64`` hash array with
an aligned ``int32`` id array once the dict outgrows an eighth of it (amortised O(log n) a
write, ~12 bytes an entry instead of a Python dict's ~100). Removed entries are tombstoned
(id -1) and dropped at the next merge. The arrays are plain numpy buffers: they can be saved
and memory-mapped as they are.

``stable_hash`` gives the hashes: xxh3-64 of the UTF-8 text, the same in every process and
on every run (Python's ``hash`` of a string is randomised per process).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xxhash

RECENT_MIN = 4096
_SIGN = 1 << 63


def stable_hash(text: str) -> int:
    """A signed 64-bit hash of ``text``, stable across processes."""
    return stable_hash_bytes(text.encode("utf-8", "surrogatepass"))


def stable_hash_bytes(data: bytes) -> int:
    """A signed 64-bit hash of ``data`` (xxh3-64), stable across processes."""
    value = xxhash.xxh3_64_intdigest(data)
    return value - (1 << 64) if value >= _SIGN else value


class HashIds:
    """``hash -> id`` with ``get``, ``put`` and ``remove`` (see the module docstring)."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int32)
        self._recent: dict[int, int] = {}
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def get(self, hashed: int) -> int:
        """The id of ``hashed``, or -1."""
        found = self._recent.get(hashed)
        if found is not None:
            return found
        hashes = self._hashes
        at = int(hashes.searchsorted(hashed))  # the method: a third of np.searchsorted's cost
        return int(self._ids[at]) if at < hashes.size and hashes[at] == hashed else -1

    def get_many(self, hashes: list[int]) -> list[int]:
        """The ids of ``hashes`` (-1 for an absent one), in order."""
        recent = self._recent
        ids = [recent.get(h, -1) for h in hashes]
        if self._hashes.size and -1 in ids:
            probe = np.array(hashes, dtype=np.int64)
            at = np.searchsorted(self._hashes, probe).clip(max=self._hashes.size - 1)
            hit = self._hashes[at] == probe
            ids = [
                i if i >= 0 else (int(self._ids[a]) if h else -1)
                for i, a, h in zip(ids, at.tolist(), hit.tolist(), strict=True)
            ]
        return ids

    def put(self, hashed: int, value: int) -> None:
        """Map ``hashed`` to ``value`` (replacing any id it had)."""
        if self.get(hashed) >= 0:
            self._tombstone(hashed)
            self._live -= 1
        self.add(hashed, value)

    def add(self, hashed: int, value: int) -> None:
        """Map ``hashed``, which the caller knows is absent, to ``value``."""
        self._recent[hashed] = value
        self._live += 1
        if len(self._recent) > max(RECENT_MIN, self._hashes.shape[0] // 8):
            self._merge()

    def remove(self, hashed: int) -> int:
        """Forget ``hashed``; its id, or -1 if it was absent."""
        found = self.get(hashed)
        if found >= 0:
            self._tombstone(hashed)
            self._live -= 1
        return found

    def _tombstone(self, hashed: int) -> None:
        if self._recent.pop(hashed, None) is not None:
            return
        at = int(self._hashes.searchsorted(hashed))
        if at < self._hashes.size and self._hashes[at] == hashed:
            self._ids[at] = -1

    def _merge(self) -> None:
        count = len(self._recent)
        hashes = np.concatenate([self._hashes, np.fromiter(self._recent, np.int64, count)])
        ids = np.concatenate([self._ids, np.fromiter(self._recent.values(), np.int32, count)])
        keep = ids >= 0
        hashes, ids = hashes[keep], ids[keep]
        order = np.argsort(hashes, kind="stable")
        self._hashes, self._ids = hashes[order], ids[order]
        self._recent = {}

    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        return self._hashes, self._ids

    def nbytes(self) -> int:
        return self._hashes.nbytes + self._ids.nbytes + 100 * len(self._recent)
