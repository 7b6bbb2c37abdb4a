"""Graph channel: memories and their entities in a networkx graph, searched by spreading
activation from the query's entities (two hops, bounded).

Nodes are ``("m", key)`` memories and ``("e", name)`` entities (``channels.entities``);
an edge joins a memory to every entity it mentions. With ``N`` memories and ``deg(e)`` the
number of memories that mention ``e``, an entity's weight is ``w(e) = ln(1 + N / deg(e))``.

    hop 1:  a1(m) = sum of w(e) over query entities e that m mentions
    hop 2:  a2(m) = beta * sum over m' in top-F(a1), e in E(m') \\ Q, m in M(e):
                    a1(m') * w(e) / |E(m')|
    score(m) = a1(m) + a2(m)

Entities mentioned by more than ``max_degree`` memories are hubs and do not spread
(they still count at hop 1), and only the ``fanout`` best hop-1 memories spread, which
bounds the work per query. Only memories in scope take part, so a path never runs through
a memory the caller may not see.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np
import numpy.typing as npt

from channels.base import ChannelStats, Doc, Hit, Query, top_hits
from channels.entities import extract_entities


class GraphChannel:
    name = "graph"

    def __init__(self, *, beta: float = 0.5, fanout: int = 10, max_degree: int = 100) -> None:
        self.beta, self.fanout, self.max_degree = beta, fanout, max_degree
        self.graph: nx.Graph = nx.Graph()
        self._surface: dict[str, str] = {}
        self._memories = 0
        self._max_key = -1
        self._member_cache: dict[tuple[str, str], npt.NDArray[np.int64]] = {}

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            self._drop(doc.key)
            self._max_key = max(self._max_key, doc.key)
            node = ("m", doc.key)
            self.graph.add_node(node, text=doc.content[:80])
            self._memories += 1
            for entity in extract_entities(doc.content, doc.metadata):
                self.graph.add_edge(node, ("e", entity.key))
                self._member_cache.pop(("e", entity.key), None)
                self._surface.setdefault(entity.key, entity.surface)

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._drop(key)

    def _drop(self, key: int) -> None:
        node = ("m", key)
        if node not in self.graph:
            return
        entities = list(self.graph.adj[node])
        for entity in entities:
            self._member_cache.pop(entity, None)
        self.graph.remove_node(node)
        self._memories -= 1
        for entity in entities:
            if self.graph.degree(entity) == 0:
                self.graph.remove_node(entity)
                self._surface.pop(entity[1], None)

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self.graph = nx.Graph()
        self._surface = {}
        self._memories = 0
        self._max_key = -1
        self._member_cache = {}
        self.upsert(list(docs))

    def _weight(self, entity: tuple[str, str]) -> float:
        return math.log(1 + self._memories / max(self.graph.degree(entity), 1))

    def _members(self, entity: tuple[str, str]) -> npt.NDArray[np.int64]:
        """The keys of the memories that mention ``entity`` (cached until the graph changes)."""
        found = self._member_cache.get(entity)
        if found is None:
            found = np.fromiter((node[1] for node in self.graph.adj[entity]), dtype=np.int64)
            self._member_cache[entity] = found
        return found

    def search(self, query: Query) -> list[Hit]:
        seeds = [("e", e.key) for e in extract_entities(query.text)]
        seeds = [s for s in dict.fromkeys(seeds) if s in self.graph]
        if not seeds or query.limit <= 0:
            return []
        size = self._capacity()
        visible = np.ones(size, dtype=bool)
        if query.allowed is not None:
            visible[:] = False
            visible[query.allowed[query.allowed < size]] = True
        hop1 = np.zeros(size)
        for seed in seeds:
            members = self._members(seed)
            hop1[members] += self._weight(seed)
        hop1[~visible] = 0.0
        found = np.flatnonzero(hop1 > 0)
        hop2 = np.zeros(size)
        via: dict[int, tuple[int, str]] = {}
        best_share = np.zeros(size)
        seed_set = set(seeds)
        spreaders = found[np.lexsort((found, -hop1[found]))][: self.fanout]
        for source in spreaders.tolist():
            entities = [e for e in self.graph.adj[("m", source)] if e not in seed_set]
            degree = max(len(self.graph.adj[("m", source)]), 1)
            for entity in entities:
                members = self._members(entity)
                if members.size > self.max_degree:
                    continue
                share = self.beta * hop1[source] * self._weight(entity) / degree
                hop2[members] += share
                hop2[source] -= share  # a memory does not reach itself
                better = members[(share > best_share[members]) & (members != source)]
                best_share[better] = share
                for key in better.tolist():
                    via[key] = (source, entity[1])
        hop2[~visible] = 0.0
        scores = hop1 + hop2
        candidates = np.flatnonzero(scores > 0).astype(np.int64)
        hits = []
        for key, score in top_hits(candidates, scores[candidates], query.limit):  # type: ignore[arg-type]
            why: dict[str, object] = {"activation": round(score, 4)}
            matched = [
                self._surface.get(s[1], s[1]) for s in seeds if ("m", key) in self.graph.adj[s]
            ]
            if matched:
                why["matched_entities"] = matched
            elif key in via:
                source, entity = via[key]
                why["path"] = [
                    "query: "
                    + ", ".join(
                        self._surface.get(s[1], s[1])
                        for s in seeds
                        if ("m", source) in self.graph.adj[s]
                    ),
                    f"memory: {self.graph.nodes[('m', source)]['text']}",
                    f"entity: {self._surface.get(entity, entity)}",
                    "this memory",
                ]
            hits.append(Hit(key, score, why))
        return hits

    def _capacity(self) -> int:
        return self._max_key + 1

    def stats(self) -> ChannelStats:
        entities = self.graph.number_of_nodes() - self._memories
        edges = self.graph.number_of_edges()
        return ChannelStats(
            documents=self._memories,
            index_bytes=edges * 2 * 64 + self.graph.number_of_nodes() * 200,
            extra={"entities": entities, "edges": edges},
        )
