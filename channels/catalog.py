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

Expiry: a ``float64`` column of seconds since the epoch (0 = never) and a count of live
keys that have one; with none (the common case) a search pays nothing. Otherwise the keys
expired at the search's ``now`` are found by one vectorised comparison and either removed
from the scope (``unexpired``) or, when the scope is the whole tenant and few have
expired, left for the engine to over-fetch past and drop (so "no filter" stays cheap).

Time (supersession): four ``float64`` columns per key, in epoch seconds - valid from
(``occurred_at``) and until (the successor's ``occurred_at``; +inf while current), known from
(``created_at``) and until (``superseded_at``; +inf) - and a ``replaced`` bit. A ``TimeView``
turns them into a key mask: the default leaves replaced memories out (the mask is cached
per catalog version, and costs nothing while nothing is replaced); ``as_of`` keeps what was
valid at a time, ``known_at`` what the store knew at a time.
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
from channels.expiry import Expired, expired_at
from channels.hashids import HashIds, stable_hash_bytes
from channels.slots import grown
from channels.timeline import CURRENT, Timeline, TimeView

I32 = npt.NDArray[np.int32]
SCOPES = ("user_id", "agent_id", "session_id")
_TIMES = ("valid_from", "valid_until", "known_from", "known_until")
_CACHE_SIZE = 64
OVERFETCH_MAX = 256
"""Up to this many expired keys are skipped by over-fetching; more become a key filter."""


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
        self._expires = np.zeros(0, dtype=np.float64)
        self._expiring = 0
        self._expired: Expired | None = None
        self._time = {name: np.zeros(0, dtype=np.float64) for name in _TIMES}
        self._replaced = np.zeros(0, dtype=bool)
        self._replaced_alive = 0
        self._current: tuple[int, KeyArray] | None = None
        self._hidden: tuple[int, frozenset[int]] | None = None
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
        expires: float = 0.0,
        timeline: Timeline | None = None,
    ) -> int:
        """The key of ``memory_id`` (a new one if unseen), with its scope, expiry and time
        recorded."""
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
            self._replaced_alive -= int(self._replaced[key])
        self._expires[key] = expires
        self._expiring += expires > 0
        line = timeline or Timeline()
        for name in _TIMES:
            self._time[name][key] = getattr(line, name)
        self._replaced[key] = line.replaced
        self._replaced_alive += int(line.replaced)
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
            self._replaced_alive -= int(self._replaced[key])
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

    def unexpired(
        self, allowed: KeyArray | None, now: float
    ) -> tuple[KeyArray | None, frozenset[int]]:
        """``allowed`` without the keys expired at ``now``, and the expired keys the caller
        must still drop from its results (over-fetching by as many)."""
        if not self._expiring:
            return allowed, frozenset()
        state = self._expired_at(now)
        if not state.keys.size:
            return allowed, frozenset()
        if allowed is not None:
            return allowed[~state.dead[allowed]], frozenset()
        if state.keys.size <= OVERFETCH_MAX:
            return None, frozenset(state.keys.tolist())
        if state.live is None:
            state.live = np.flatnonzero(self._alive[: state.dead.shape[0]] & ~state.dead)
        return state.live.astype(np.int64, copy=False), frozenset()

    def _expired_at(self, now: float) -> Expired:
        found = self._expired
        if found is None or not found.holds(self._version, now):
            size = self._size
            found = expired_at(self._expires[:size], self._alive[:size], now, self._version)
            self._expired = found  # one assignment: concurrent searches see old or new whole
        return found

    def replaced(self, key: int) -> bool:
        return 0 <= key < self._size and bool(self._replaced[key])

    def viewed(
        self, keys: KeyArray | None, view: TimeView
    ) -> tuple[KeyArray | None, frozenset[int]]:
        """As ``in_view``; but when the scope is the whole tenant, the view the default and at
        most ``OVERFETCH_MAX`` memories replaced, the scope stays "no filter" and the replaced
        keys come back for the caller to drop (over-fetching by as many), as for expiry: a
        few superseded memories never turn every search into a tenant-sized key filter."""
        if keys is None and view == CURRENT and 0 < self._replaced_alive <= OVERFETCH_MAX:
            cached = self._hidden
            if cached is None or cached[0] != self._version:
                version = self._version
                size = self._size
                found = np.flatnonzero(self._alive[:size] & self._replaced[:size])
                cached = self._hidden = (version, frozenset(found.tolist()))
            return None, cached[1]
        return self.in_view(keys, view), frozenset()

    def in_view(self, keys: KeyArray | None, view: TimeView) -> KeyArray | None:
        """``keys`` (``None``: every key) narrowed to what ``view`` sees."""
        if view == CURRENT and not self._replaced_alive:
            return keys
        if view.include_superseded and view.known_at is None:
            return keys
        if view == CURRENT:
            cached = self._current
            if cached is not None and cached[0] == self._version:
                found = cached[1]
            else:
                version = self._version
                found = np.flatnonzero(self._alive & ~self._replaced).astype(np.int64)
                self._current = (version, found)
            if keys is None:
                return found
            return np.intersect1d(keys, found, assume_unique=True)
        size = self._size
        mask = self._alive[:size].copy()
        t = self._time
        if view.known_at is not None:
            mask &= (t["known_from"][:size] <= view.known_at) & (
                view.known_at < t["known_until"][:size]
            )
        if view.as_of is not None and not view.include_superseded:
            mask &= (t["valid_from"][:size] <= view.as_of) & (view.as_of < t["valid_until"][:size])
        if keys is None:
            return np.flatnonzero(mask).astype(np.int64)
        keys = keys[keys < size]
        return keys[mask[keys]]

    def _uncount(self, key: int) -> None:
        self._expiring -= bool(self._expires[key] > 0)
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
        self._expires = grown(self._expires, size)
        self._replaced = grown(self._replaced, size, False)
        for name in _TIMES:
            self._time[name] = grown(self._time[name], size)
        for name in SCOPES:
            self._columns[name] = grown(self._columns[name], size)

    def nbytes(self) -> int:
        """Bytes of the arrays."""
        arrays = [self._ids, self._alive, self._generation, self._versions, self._expires]
        arrays += [self._replaced, *self._time.values(), *self._key_of.arrays()]
        arrays += list(self._columns.values())
        arrays += [p.pairs for p in self._postings.values()]
        return sum(a.nbytes for a in arrays)
