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
from collections import defaultdict
from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np

from channels.base import ChannelStats, Doc, Hit, Query, top_hits
from channels.entities import extract_entities


class GraphChannel:
    name = "graph"

    def __init__(self, *, beta: float = 0.5, fanout: int = 10, max_degree: int = 100) -> None:
        self.beta, self.fanout, self.max_degree = beta, fanout, max_degree
        self.graph: nx.Graph = nx.Graph()
        self._surface: dict[str, str] = {}
        self._memories = 0

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            self._drop(doc.key)
            node = ("m", doc.key)
            self.graph.add_node(node, text=doc.content[:80])
            self._memories += 1
            for entity in extract_entities(doc.content, doc.metadata):
                self.graph.add_edge(node, ("e", entity.key))
                self._surface.setdefault(entity.key, entity.surface)

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._drop(key)

    def _drop(self, key: int) -> None:
        node = ("m", key)
        if node not in self.graph:
            return
        entities = list(self.graph.adj[node])
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
        self.upsert(list(docs))

    def _weight(self, entity: tuple[str, str]) -> float:
        return math.log(1 + self._memories / max(self.graph.degree(entity), 1))

    def search(self, query: Query) -> list[Hit]:
        seeds = [("e", e.key) for e in extract_entities(query.text)]
        seeds = [s for s in dict.fromkeys(seeds) if s in self.graph]
        if not seeds or query.limit <= 0:
            return []
        allowed = None if query.allowed is None else set(query.allowed.tolist())
        adj = self.graph.adj
        hop1: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for seed in seeds:
            weight = self._weight(seed)
            for node in adj[seed]:
                key = node[1]
                if allowed is None or key in allowed:
                    hop1[key] += weight
                    matched[key].append(seed[1])
        seed_set = set(seeds)
        hop2: dict[int, float] = defaultdict(float)
        via: dict[int, tuple[float, int, str]] = {}
        spreaders = sorted(hop1.items(), key=lambda kv: (-kv[1], kv[0]))[: self.fanout]
        for source, activation in spreaders:
            entities = [e for e in adj[("m", source)] if e not in seed_set]
            for entity in entities:
                if self.graph.degree(entity) > self.max_degree:
                    continue
                share = (
                    self.beta * activation * self._weight(entity) / max(len(adj[("m", source)]), 1)
                )
                for node in adj[entity]:
                    key = node[1]
                    if key == source or (allowed is not None and key not in allowed):
                        continue
                    hop2[key] += share
                    if share > via.get(key, (0.0, 0, ""))[0]:
                        via[key] = (share, source, entity[1])
        scores = dict(hop1)
        for key, extra in hop2.items():
            scores[key] = scores.get(key, 0.0) + extra
        keys = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        hits = []
        for key, score in top_hits(keys, values, query.limit):  # type: ignore[arg-type]
            why: dict[str, object] = {"activation": round(score, 4)}
            if matched.get(key):
                why["matched_entities"] = [self._surface.get(e, e) for e in matched[key]]
            if key in via and key not in hop1:
                _, source, entity = via[key]
                why["path"] = [
                    f"query: {', '.join(self._surface.get(e, e) for e in matched[source])}",
                    f"memory: {self.graph.nodes[('m', source)]['text']}",
                    f"entity: {self._surface.get(entity, entity)}",
                    "this memory",
                ]
            hits.append(Hit(key, score, why))
        return hits

    def stats(self) -> ChannelStats:
        entities = self.graph.number_of_nodes() - self._memories
        edges = self.graph.number_of_edges()
        return ChannelStats(
            documents=self._memories,
            index_bytes=edges * 2 * 64 + self.graph.number_of_nodes() * 200,
            extra={"entities": entities, "edges": edges},
        )
