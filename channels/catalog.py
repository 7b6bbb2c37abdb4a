"""The engine's registry of indexed memories: UUID <-> dense key, and scope columns.

Keys are dense int64s handed to every channel; scope filters (user, agent, session,
metadata equality) become a sorted key array computed with vectorised comparisons, so a
channel can restrict its search to the scope *before* ranking (no post-filtering that
starves a small scope of results).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from channels.base import KeyArray

_NONE = 0


class _Interner:
    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str | None, *, create: bool) -> int:
        if value is None:
            return _NONE
        found = self.codes.get(value)
        if found is None and create:
            found = self.codes[value] = len(self.codes) + 1
        return -1 if found is None else found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class Catalog:
    SCOPES = ("user_id", "agent_id", "session_id")

    def __init__(self) -> None:
        self._key_of: dict[uuid.UUID, int] = {}
        self._id_of: list[uuid.UUID | None] = []
        self._interners = {name: _Interner() for name in self.SCOPES}
        self._columns = {name: np.zeros(0, dtype=np.int32) for name in self.SCOPES}
        self._alive = np.zeros(0, dtype=bool)
        self._meta_postings: dict[tuple[str, str], set[int]] = {}
        self._meta_of: dict[int, list[tuple[str, str]]] = {}

    def __len__(self) -> int:
        return len(self._key_of)

    def key(self, memory_id: uuid.UUID) -> int | None:
        return self._key_of.get(memory_id)

    def memory_id(self, key: int) -> uuid.UUID | None:
        return self._id_of[key] if 0 <= key < len(self._id_of) else None

    def assign(
        self, memory_id: uuid.UUID, scope: Mapping[str, str | None], metadata: Mapping[str, Any]
    ) -> int:
        """The key of ``memory_id`` (a new one if unseen), with its scope recorded."""
        key = self._key_of.get(memory_id)
        if key is None:
            key = len(self._id_of)
            self._id_of.append(memory_id)
            self._key_of[memory_id] = key
            self._grow(key + 1)
        for name in self.SCOPES:
            self._columns[name][key] = self._interners[name].code(scope.get(name), create=True)
        self._alive[key] = True
        self._unindex_meta(key)
        pairs = [(k, _canonical(v)) for k, v in metadata.items() if not isinstance(v, dict | list)]
        self._meta_of[key] = pairs
        for pair in pairs:
            self._meta_postings.setdefault(pair, set()).add(key)
        return key

    def drop(self, memory_id: uuid.UUID) -> int | None:
        key = self._key_of.pop(memory_id, None)
        if key is not None:
            self._id_of[key] = None
            self._alive[key] = False
            self._unindex_meta(key)
        return key

    def allowed(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> KeyArray | None:
        """Sorted keys in scope, or ``None`` when nothing narrows the whole tenant."""
        wanted = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
        if all(v is None for v in wanted.values()) and not metadata:
            return None
        mask = self._alive.copy()
        for name, value in wanted.items():
            if value is not None:
                mask &= self._columns[name] == self._interners[name].code(value, create=False)
        keys = np.flatnonzero(mask).astype(np.int64)
        for k, v in (metadata or {}).items():
            posting = self._meta_postings.get((k, _canonical(v)), set())
            keys = keys[np.isin(keys, np.fromiter(posting, dtype=np.int64, count=len(posting)))]
        return keys

    def _grow(self, size: int) -> None:
        if size <= self._alive.shape[0]:
            return
        capacity = max(size, self._alive.shape[0] * 2, 1024)
        for name in self.SCOPES:
            column = np.zeros(capacity, dtype=np.int32)
            column[: self._columns[name].shape[0]] = self._columns[name]
            self._columns[name] = column
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._alive.shape[0]] = self._alive
        self._alive = alive

    def _unindex_meta(self, key: int) -> None:
        for pair in self._meta_of.pop(key, []):
            posting = self._meta_postings.get(pair)
            if posting is not None:
                posting.discard(key)
                if not posting:
                    del self._meta_postings[pair]
