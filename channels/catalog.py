"""The engine's registry of indexed memories: UUID <-> dense key, and scope columns.

Keys are dense int64s handed to every channel; scope filters (user, agent, session,
metadata equality) become a sorted key array, so a channel can restrict its search to the
scope *before* ranking (no post-filtering that starves a small scope of results).

Layout (compact, one array per column, ready to be saved and mapped as it is):

- ``UUID -> key`` as a ``channels.hashids.HashIds`` over a 64-bit hash of the UUID (two
  sorted arrays, ~12 bytes a memory rather than a ~130-byte dict entry), each hit checked
  against ``key -> UUID``, a ``(capacity, 16)`` byte array; the rare UUID whose hash
  collides with another's is kept in a small exact dict;
- scope columns: one ``int32`` array per scope field of interned value codes, an ``alive``
  bit per key, and a live count per scope value;
- postings per scope value and per metadata ``(key, value)`` pair: growable ``int32``
  arrays of ``(key, generation)``. A key's generation is bumped whenever its scope or
  metadata is rewritten, so stale postings are recognised (and compacted away lazily) on
  read, without storing each memory's old pairs.

A scope that holds every live memory of the tenant answers ``None`` ("no filter"), so the
common case (one user per tenant) costs nothing per query. Other scopes are cached per
catalog version.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from channels.base import KeyArray
from channels.hashids import HashIds, stable_hash_bytes
from channels.slots import grown

I32 = npt.NDArray[np.int32]
SCOPES = ("user_id", "agent_id", "session_id")
_CACHE_SIZE = 64


def _hash(memory_id: uuid.UUID) -> int:
    return stable_hash_bytes(memory_id.bytes)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class _Posting:
    """Keys with one scope value or metadata pair: append-only (key, generation) pairs."""

    __slots__ = ("pairs", "size")

    def __init__(self) -> None:
        self.pairs = np.zeros((2, 2), dtype=np.int32)
        self.size = 0

    def add(self, key: int, generation: int) -> None:
        self.pairs = grown(self.pairs, self.size + 1, minimum=2)
        self.pairs[self.size] = (key, generation)
        self.size += 1

    def live(self, alive: npt.NDArray[np.bool_], generation: I32) -> KeyArray:
        """Sorted live keys; compacts the stale pairs away when they are the majority."""
        pairs = self.pairs[: self.size]
        keys = pairs[:, 0]
        ok = alive[keys] & (generation[keys] == pairs[:, 1])
        found = keys[ok]
        if found.shape[0] * 2 < self.size:  # readers may race here: both write equal data
            kept = pairs[ok].copy()
            self.pairs, self.size = kept, kept.shape[0]
        return np.unique(found).astype(np.int64)


class Catalog:
    SCOPES = SCOPES

    def __init__(self) -> None:
        self._key_of = HashIds()
        self._collided: dict[int, int] = {}
        """``uuid.int -> key`` for ids whose hash another id already holds (exact, rare)."""
        self._ids = np.zeros((0, 16), dtype=np.uint8)
        self._size = 0
        self._codes: dict[str, dict[str, int]] = {name: {} for name in SCOPES}
        self._columns = {name: np.zeros(0, dtype=np.int32) for name in SCOPES}
        self._counts: dict[str, dict[int, int]] = {name: {} for name in SCOPES}
        self._alive = np.zeros(0, dtype=bool)
        self._generation = np.zeros(0, dtype=np.int32)
        self._versions = np.zeros(0, dtype=np.int32)
        self._postings: dict[tuple[str, str], _Posting] = {}
        self._version = 0
        self._cache: dict[tuple[Any, ...], tuple[int, KeyArray | None]] = {}
        self._cache_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._key_of) + len(self._collided)

    @property
    def capacity(self) -> int:
        """One more than the largest key handed out."""
        return self._size

    def key(self, memory_id: uuid.UUID) -> int | None:
        if self._collided:
            found = self._collided.get(memory_id.int)
            if found is not None:
                return found
        key = self._key_of.get(_hash(memory_id))
        if key < 0 or self._ids[key].tobytes() != memory_id.bytes:
            return None
        return key

    def memory_id(self, key: int) -> uuid.UUID | None:
        if 0 <= key < self._size and self._alive[key]:
            return uuid.UUID(bytes=self._ids[key].tobytes())
        return None

    def version(self, memory_id: uuid.UUID) -> int | None:
        """The row version indexed for ``memory_id``, or ``None`` if it is not indexed."""
        key = self.key(memory_id)
        return None if key is None else int(self._versions[key])

    def assign(
        self,
        memory_id: uuid.UUID,
        scope: Mapping[str, str | None],
        metadata: Mapping[str, Any],
        *,
        version: int = 0,
    ) -> int:
        """The key of ``memory_id`` (a new one if unseen), with its scope recorded."""
        key = self.key(memory_id)
        if key is None:
            key = self._size
            self._size += 1
            self._grow(self._size)
            self._ids[key] = np.frombuffer(memory_id.bytes, dtype=np.uint8)
            hashed = _hash(memory_id)
            if self._key_of.get(hashed) >= 0:  # another id holds this hash
                self._collided[memory_id.int] = key
            else:
                self._key_of.add(hashed, key)
        elif self._alive[key]:
            self._uncount(key)
        self._generation[key] += 1
        self._versions[key] = version
        generation = int(self._generation[key])
        for name in SCOPES:
            code = self._code(name, scope.get(name))
            self._columns[name][key] = code
            counts = self._counts[name]
            counts[code] = counts.get(code, 0) + 1
            self._posting(f"@{name}", str(code)).add(key, generation)
        self._alive[key] = True
        for k, v in metadata.items():
            if not isinstance(v, dict | list):
                self._posting(k, _canonical(v)).add(key, generation)
        self._version += 1
        return key

    def drop(self, memory_id: uuid.UUID) -> int | None:
        key = self.key(memory_id)
        if key is not None:
            if self._collided.pop(memory_id.int, None) is None:
                self._key_of.remove(_hash(memory_id))
            self._uncount(key)
            self._alive[key] = False
            self._version += 1
        return key

    def allowed(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> KeyArray | None:
        """Sorted keys in scope, or ``None`` when the scope is the whole tenant."""
        wanted = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
        pairs = [(k, _canonical(v)) for k, v in sorted((metadata or {}).items())]
        if all(v is None for v in wanted.values()) and not pairs:
            return None
        cache_key = (user_id, agent_id, session_id, tuple(pairs))
        with self._cache_lock:
            hit = self._cache.get(cache_key)
        if hit is not None and hit[0] == self._version:
            return hit[1]
        version = self._version
        keys = self._resolve(wanted, pairs)
        with self._cache_lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[cache_key] = (version, keys)
        return keys

    def _resolve(
        self, wanted: Mapping[str, str | None], pairs: list[tuple[str, str]]
    ) -> KeyArray | None:
        lists: list[tuple[str, str]] = []
        for name, value in wanted.items():
            if value is None:
                continue
            code = self._codes[name].get(value)
            if code is None:
                return np.zeros(0, dtype=np.int64)
            alone = not pairs and sum(v is not None for v in wanted.values()) == 1
            if alone and self._counts[name].get(code, 0) == len(self):
                return None  # the scope is the whole tenant
            lists.append((f"@{name}", str(code)))
        lists += pairs
        alive, generation = self._alive, self._generation
        result: KeyArray | None = None
        for pair in lists:
            posting = self._postings.get(pair)
            if posting is None:
                return np.zeros(0, dtype=np.int64)
            keys = posting.live(alive, generation)
            result = keys if result is None else np.intersect1d(result, keys, assume_unique=True)
        assert result is not None
        return result

    def _code(self, name: str, value: str | None) -> int:
        if value is None:
            return 0
        codes = self._codes[name]
        found = codes.get(value)
        if found is None:
            found = codes[value] = len(codes) + 1
        return found

    def _posting(self, field: str, value: str) -> _Posting:
        found = self._postings.get((field, value))
        if found is None:
            found = self._postings[(field, value)] = _Posting()
        return found

    def _uncount(self, key: int) -> None:
        for name in SCOPES:
            code = int(self._columns[name][key])
            counts = self._counts[name]
            counts[code] -= 1
            if not counts[code]:
                del counts[code]

    def _grow(self, size: int) -> None:
        self._ids = grown(self._ids, size)
        self._alive = grown(self._alive, size, False)
        self._generation = grown(self._generation, size)
        self._versions = grown(self._versions, size)
        for name in SCOPES:
            self._columns[name] = grown(self._columns[name], size)

    def nbytes(self) -> int:
        """Bytes of the arrays."""
        arrays = [self._ids, self._alive, self._generation, self._versions]
        arrays += list(self._key_of.arrays())
        arrays += list(self._columns.values())
        arrays += [p.pairs for p in self._postings.values()]
        return sum(a.nbytes for a in arrays)
