"""Graph channel: memories and the entities they mention (``channels.entities``), searched
by spreading activation from the query's entities (two hops, bounded).

The memory <-> entity incidence lives in compact arrays (``channels.graph_index``); no
graph library is needed for two bounded hops. With ``N`` memories and ``deg(e)`` the
number of memories that mention ``e``, an entity's weight is ``w(e) = ln(1 + N / deg(e))``.

    hop 1:  a1(m) = sum of w(e) over query entities e that m mentions
    hop 2:  a2(m) = beta * sum over m' in top-F(a1), e in E(m') \\ Q, m in M(e) \\ {m'}:
                    a1(m') * w(e) / |E(m')|
    score(m) = a1(m) + a2(m)

Entities mentioned by more than ``max_degree`` memories are hubs and do not spread
(they still count at hop 1), and only the ``fanout`` best hop-1 memories spread, which
bounds the work per query: the query entities' postings plus at most ``fanout`` spreaders'
entities of degree <= ``max_degree``. Only memories in scope take part, so a path never
runs through a memory the caller may not see.

A hit found only through hop 2 is explained by its strongest path: ``why["path"]`` =
["query: <entities>", "memory", "entity: <bridge>", "this memory"] and ``why["via_key"]``,
the key of the memory in the middle (the engine turns it into that memory's id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from channels.base import ChannelStats, Doc, FloatArray, Hit, KeyArray, Query, top_hits
from channels.entities import extract_entities
from channels.graph_index import EntityIndex
from channels.postings import in_sorted

F64 = npt.NDArray[np.float64]


class GraphChannel:
    name = "graph"

    def __init__(self, *, beta: float = 0.5, fanout: int = 10, max_degree: int = 100) -> None:
        self.beta, self.fanout, self.max_degree = beta, fanout, max_degree
        self._index = EntityIndex()

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            self._index.add(doc.key, extract_entities(doc.content, doc.metadata))
        self._index.settle()

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._index.delete(key)

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._index = EntityIndex()
        self.upsert(list(docs))

    def _weight(self, entity_id: int) -> float:
        index = self._index
        return float(np.log(1 + index.memories / max(int(index.degree[entity_id]), 1)))

    def search(self, query: Query) -> list[Hit]:
        index = self._index
        if query.limit <= 0:
            return []
        surfaces: dict[int, str] = {}
        for entity in extract_entities(query.text):
            entity_id = index.lookup(entity.key)
            if entity_id >= 0 and index.degree[entity_id] > 0:
                surfaces.setdefault(entity_id, index.surface(entity_id) or entity.surface)
        seeds = list(surfaces)
        if not seeds:
            return []
        keys1, which1 = index.members(seeds)
        if query.allowed is not None:
            keep = in_sorted(keys1, query.allowed)
            keys1, which1 = keys1[keep], which1[keep]
        if keys1.size == 0:
            return []
        weights = np.array([self._weight(s) for s in seeds])
        found, inverse = np.unique(keys1, return_inverse=True)
        hop1 = cast(F64, np.bincount(inverse, weights=weights[which1]))
        spreaders = np.lexsort((found, -hop1))[: self.fanout]
        hop2_keys, hop2_shares, hop2_via, pairs = self._spread(found, hop1, spreaders, set(seeds))
        if query.allowed is not None:
            keep = in_sorted(hop2_keys, query.allowed)
            hop2_keys, hop2_shares, hop2_via = hop2_keys[keep], hop2_shares[keep], hop2_via[keep]
        keys, inverse = np.unique(np.concatenate([found, hop2_keys]), return_inverse=True)
        # a1 + a2, each summed in spreading order (the same floating-point sums as ever)
        hop2 = np.bincount(inverse[found.size :], weights=hop2_shares, minlength=keys.size)
        scores = np.zeros(keys.size)
        scores[inverse[: found.size]] = hop1
        scores += hop2
        positive = scores > 0
        ranked = top_hits(
            cast(KeyArray, keys[positive]), cast(FloatArray, scores[positive]), query.limit
        )
        hit_keys = np.array([k for k, _ in ranked], dtype=np.int64)
        matched = self._seeds_of(keys1, which1, np.concatenate([hit_keys, found[spreaders]]))
        via = _strongest(hit_keys, hop2_keys, hop2_shares, hop2_via, pairs)
        hits = []
        for key, score in ranked:
            why: dict[str, Any] = {"activation": round(score, 4)}
            if key in matched:
                why["matched_entities"] = [surfaces[seeds[i]] for i in matched[key]]
            elif key in via:
                source, entity_id = via[key]
                why["path"] = [
                    "query: " + ", ".join(surfaces[seeds[i]] for i in matched.get(source, [])),
                    "memory",
                    f"entity: {index.surface(entity_id) or '?'}",
                    "this memory",
                ]
                why["via_key"] = source
            hits.append(Hit(key, score, why))
        return hits

    def _spread(
        self,
        found: KeyArray,
        hop1: npt.NDArray[np.float64],
        spreaders: npt.NDArray[np.intp],
        seeds: set[int],
    ) -> tuple[KeyArray, F64, KeyArray, list[tuple[int, int]]]:
        """Hop 2: (reached keys, their shares, index of each share's path, the paths as
        (source key, entity id)), in the order they spread."""
        index = self._index
        pairs: list[tuple[int, int]] = []
        share_of: list[float] = []
        for position in spreaders.tolist():
            source = int(found[position])
            entities = index.entities_of(source)
            degree = max(len(entities), 1)
            for entity_id in entities:
                # an entity of this memory alone reaches nobody; a hub does not spread
                if entity_id in seeds or not 1 < index.degree[entity_id] <= self.max_degree:
                    continue
                pairs.append((source, entity_id))
                share_of.append(
                    self.beta * float(hop1[position]) * self._weight(entity_id) / degree
                )
        empty = np.zeros(0, dtype=np.int64)
        if not pairs:
            return empty, np.zeros(0, dtype=np.float64), empty, pairs
        # one gather for all bridging entities, then each path's members as a CSR slice
        entity_ids, entity_of_pair = np.unique([e for _, e in pairs], return_inverse=True)
        members, which = index.members(entity_ids.tolist())
        start = np.searchsorted(which, np.arange(entity_ids.shape[0] + 1))
        lengths = np.diff(start)[entity_of_pair]
        path = np.repeat(np.arange(len(pairs)), lengths)
        offset = np.arange(path.shape[0]) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        keys = members[start[entity_of_pair][path] + offset]
        sources = np.array([source for source, _ in pairs], dtype=np.int64)
        reach = keys != sources[path]  # a memory does not reach itself
        shares = np.array(share_of)[path]
        return keys[reach], shares[reach], path[reach].astype(np.int64), pairs

    @staticmethod
    def _seeds_of(
        keys1: KeyArray, which1: npt.NDArray[np.int32], wanted: KeyArray
    ) -> dict[int, list[int]]:
        """For each of ``wanted``: the positions of the seeds it mentions, in query order."""
        out: dict[int, list[int]] = {}
        for i in np.flatnonzero(np.isin(keys1, wanted)).tolist():
            out.setdefault(int(keys1[i]), []).append(int(which1[i]))
        return out

    def stats(self) -> ChannelStats:
        index = self._index
        degree = index.degree
        return ChannelStats(
            documents=index.memories,
            index_bytes=index.nbytes(),
            extra={
                "entities": int(np.count_nonzero(degree)),
                "edges": int(degree.sum()),
                "slots": index.slots,
            },
        )


def _strongest(
    wanted: KeyArray,
    keys: KeyArray,
    shares: F64,
    via: KeyArray,
    pairs: list[tuple[int, int]],
) -> dict[int, tuple[int, int]]:
    """For each of ``wanted`` reached at hop 2: the path of its largest share (the first
    one spread among equals)."""
    mask = np.isin(keys, wanted)
    keys, shares, via = keys[mask], shares[mask], via[mask]
    order = np.lexsort((via, -shares, keys))
    keys, via = keys[order], via[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
    return {int(keys[i]): pairs[int(via[i])] for i in first.tolist()}
