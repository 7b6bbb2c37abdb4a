"""The graph channel's memory <-> entity incidence, in compact arrays (search: ``channels.graph``).

- Entities are interned by a 64-bit hash of their normalised key (``stable_hash``: the same
  in every process) in a ``channels.hashids.HashIds``: a sorted int64 hash array with
  aligned int32 ids, plus a small dict of recent entities merged into it amortised. No entity string is kept, except a *surface* ("New York") for entities that
  can appear in an explanation: names from their first mention, any other entity once a
  second memory mentions it (an entity of one memory never bridges two), packed
  length-prefixed in one ``bytearray`` with an int32 offset per entity.
  Two keys share an entity only on a 64-bit hash collision (about 1 in 10^7 for a million
  entities; it merges two entities' memories, it loses nothing).
- Entity -> memory postings are ``channels.postings.Postings`` over *slots* (one per stored
  version of a memory, tombstoned when the memory is replaced or removed); memory ->
  entities is a forward list per slot, in extraction order, as varints.
- ``degree[e]`` is the live number of memories that mention ``e``, kept exact on every
  write through the forward list, so hubs are known without reading their postings.

Writes are O(the memory's entities) plus amortised merges; reads touch only the postings
of the entities they ask about.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from channels.entities import Entity
from channels.hashids import HashIds, stable_hash
from channels.postings import Postings
from channels.slots import Slots, compact_csr, grown

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

COMPACT_MIN_DEAD = 4096
NAMED = frozenset({"proper", "speaker"})


def _varints(values: list[int]) -> bytes:
    """LEB128 varints of non-negative ints."""
    out = bytearray()
    for value in values:
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _from_varints(encoded: bytes | bytearray) -> list[int]:
    values, value, shift = [], 0, 0
    for byte in encoded:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            values.append(value)
            value = shift = 0
    return values


class EntityIndex(Slots):
    def __init__(self) -> None:
        super().__init__()
        self._entity_ids = HashIds()
        self.entities = 0
        self._degree = np.zeros(0, dtype=np.int32)
        self._surface_at = np.zeros(0, dtype=np.int32)
        """Per entity id: offset of its surface in ``_surfaces`` (-1: none kept)."""
        self._surfaces = bytearray()
        """Surfaces, each as a length byte then UTF-8 (cut to 255 bytes)."""
        self._forward = bytearray()
        """Entity ids of each slot in extraction order, as LEB128 varints (early, frequent
        entities have small ids: ~2 bytes an id rather than 4)."""
        self._forward_start = array("q", [0])
        self.store = Postings(codes=False)
        self.memories = 0

    def surface(self, entity_id: int) -> str | None:
        """How a memory wrote the entity, if kept (see the module docstring)."""
        at = int(self._surface_at[entity_id])
        if at < 0:
            return None
        return self._surfaces[at + 1 : at + 1 + self._surfaces[at]].decode(errors="ignore")

    @property
    def degree(self) -> I32:
        return self._degree[: self.entities]

    # entity ids

    def lookup(self, key: str) -> int:
        """The id of entity ``key``, or -1 if no memory ever mentioned it."""
        return self._entity_ids.get(stable_hash(key))

    def _ids(self, hashes: list[int], *, create: bool) -> list[int]:
        known = self._entity_ids
        ids = known.get_many(hashes)
        if create:
            fresh: dict[int, int] = {}
            for n, (h, i) in enumerate(zip(hashes, ids, strict=True)):
                if i < 0:
                    i = fresh.get(h, -1)
                    if i < 0:  # new (not repeated within this call)
                        i = fresh[h] = self.entities
                        known.add(h, i)
                        self.entities += 1
                    ids[n] = i
            self._degree = grown(self._degree, self.entities, 0)
            self._surface_at = grown(self._surface_at, self.entities, -1)
        return ids

    # writes

    def add(self, key: int, entities: Sequence[Entity]) -> None:
        """Store memory ``key`` (replacing its previous version) with its entities."""
        self.delete(key)
        slot = self.take_slot(key)
        self.memories += 1
        ids = self._ids([stable_hash(e.key) for e in entities], create=True)
        self.store.extend(ids, slot, [0] * len(ids))
        self._forward += _varints(ids)
        np.add.at(self._degree, ids, 1)
        surface_at, degree = self._surface_at, self._degree
        for entity, entity_id in zip(entities, ids, strict=True):
            if surface_at[entity_id] < 0 and (entity.kind in NAMED or degree[entity_id] > 1):
                text = entity.surface.encode()[:255]
                surface_at[entity_id] = len(self._surfaces)
                self._surfaces += bytes([len(text)]) + text
        self._forward_start.append(len(self._forward))

    def delete(self, key: int) -> None:
        slot = self.release_slot(key)
        if slot < 0:
            return
        self.memories -= 1
        np.subtract.at(self._degree, self._entities_of_slot(slot), 1)
        if self.dead_slots >= max(COMPACT_MIN_DEAD, self.memories):
            self.compact()

    def settle(self) -> None:
        """Merge what recent writes appended, once it is large (call after a batch)."""
        if self.store.wants_merge():
            self.store.merge(self.entities, self.alive)

    def compact(self) -> None:
        """Renumber the live slots densely; drop tombstoned postings and forward lists."""
        alive, remap = self.live_remap()
        self.store.merge(self.entities, self.alive, remap)
        forward, self._forward_start = compact_csr(
            np.frombuffer(self._forward, dtype=np.uint8), self._forward_start, alive
        )
        self._forward = bytearray(forward.tobytes())
        self.renumber(alive)

    # reads

    def _entities_of_slot(self, slot: int) -> list[int]:
        return _from_varints(
            self._forward[self._forward_start[slot] : self._forward_start[slot + 1]]
        )

    def entities_of(self, key: int) -> list[int]:
        """Entity ids a live memory mentions, in extraction order ([] if unknown)."""
        slot = self.slot_of(key)
        return [] if slot < 0 else self._entities_of_slot(slot)

    def members(self, entity_ids: Sequence[int]) -> tuple[I64, I32]:
        """Live memories that mention ``entity_ids``: (keys, position of the entity in
        ``entity_ids``), entity by entity."""
        slots, which, _ = self.store.gather(entity_ids, self.alive)
        return self.slot_key[slots].astype(np.int64), which

    def nbytes(self) -> int:
        arrays: tuple[npt.NDArray[Any], ...] = (
            self._degree,
            *self.slot_arrays(),
        )
        size = sum(a.nbytes for a in arrays) + self.store.nbytes()
        size += sys.getsizeof(self._forward) + sys.getsizeof(self._forward_start)
        size += self._entity_ids.nbytes()
        size += self._surface_at.nbytes + sys.getsizeof(self._surfaces)
        return size
