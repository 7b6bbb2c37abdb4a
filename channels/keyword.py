"""Keyword channel: Okapi BM25 over an incremental inverted index (``channels.keyword_index``).

Scores equal rank-bm25's ``BM25Okapi`` (the test oracle) on the same tokens:

    score(D, Q) = sum_{q in Q} idf(q) * f(q,D) * (k1 + 1) / (f(q,D) + k1 * (1 - b + b * |D| / avgdl))
    idf(q)      = ln(N - n(q) + 0.5) - ln(n(q) + 0.5)
                  replaced by epsilon * mean_{t in vocabulary} idf(t) when negative

(Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009; the
floor is rank-bm25's fix for terms in more than half of the documents.) A term repeated in
the query counts once per occurrence, as in BM25Okapi. N, n(q), avgdl and the vocabulary
cover every document of the channel (the tenant); ``Query.allowed`` only restricts which
documents are ranked, so a document scores the same in every scope. Only documents that
contain a query term are returned.

A memory's conversation neighbours (``Doc.context_before/after``, see ``channels.context``)
are a second field of weight ``context_weight`` (BM25F, Robertson, Zaragoza & Taylor 2004):
each of their terms adds ``context_weight`` to f(q,D) and to |D|. A document without
context scores exactly as in BM25Okapi; ``context_weight=2`` equals BM25Okapi over the
content's tokens followed by the context's tokens twice.

Cost: a write is O(its terms) (plus the index's amortised merges); a search gathers the
query terms' postings only, O(M log M) for their total length M with a stable sort that
sums each document's terms in query order: nothing sized by the tenant is allocated.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

import numpy as np

from channels.base import ChannelStats, Doc, FloatArray, Hit, KeyArray, Query, top_hits
from channels.keyword_index import InvertedIndex
from channels.postings import in_sorted
from channels.text import STOP_WORDS, tokenize

__all__ = ["STOP_WORDS", "KeywordChannel", "tokenize"]


@lru_cache(maxsize=16_384)
def _terms(text: str) -> tuple[str, ...]:
    # a memory is tokenized for itself and again as each neighbour's context
    return tuple(tokenize(text))


class KeywordChannel:
    """BM25 keyword retrieval over one tenant's memories (see the module docstring)."""

    name = "keyword"

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        context_weight: float = 0.5,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1 or context_weight < 0:
            raise ValueError("need k1 >= 0, 0 <= b <= 1 and context_weight >= 0")
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.context_weight = context_weight
        self._index = InvertedIndex()
        self._mean_idf: tuple[int, float] | None = None

    # writes

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            if doc.key < 0:
                raise ValueError(f"keys are non-negative, got {doc.key}")
            own = _terms(doc.content)
            length = float(len(own))
            context: Counter[str] = Counter()
            if self.context_weight > 0:
                context.update(_terms(doc.context_before) + _terms(doc.context_after))
                length += self.context_weight * context.total()
            self._index.add(doc.key, Counter(own), context, length)
        self._index.settle()

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._index.delete(key)

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._index = InvertedIndex()
        self._mean_idf = None
        self.upsert(list(docs))

    # reads

    def idf(self, term: str) -> float:
        """The BM25Okapi idf of an (already tokenized) term; 0 for an unknown term."""
        index = self._index
        term_id = index.vocabulary.get(term)
        df = 0 if term_id is None else int(index.df[term_id])
        if df == 0:
            return 0.0
        n = index.documents
        idf = math.log(n - df + 0.5) - math.log(df + 0.5)
        return idf if idf >= 0 else self.epsilon * self._vocabulary_mean_idf()

    def _vocabulary_mean_idf(self) -> float:
        index = self._index
        if self._mean_idf is None or self._mean_idf[0] != index.version:
            df = index.df.astype(np.float64)
            df = df[df > 0]
            idf = np.log(index.documents - df + 0.5) - np.log(df + 0.5)
            self._mean_idf = (index.version, float(idf.sum()) / max(df.shape[0], 1))
        return self._mean_idf[1]

    def search(self, query: Query) -> list[Hit]:
        index = self._index
        counts = Counter(t for t in _terms(query.text) if t in index.vocabulary)
        term_ids = {t: index.vocabulary[t] for t in counts if index.df[index.vocabulary[t]] > 0}
        if not term_ids or query.limit <= 0:
            return []
        k1, b = self.k1, self.b
        avgdl = index.total_length / index.documents
        terms = list(term_ids)
        slots, which, code, tf = index.gather([term_ids[t] for t in terms], self.context_weight)
        if query.allowed is not None:
            keep = in_sorted(index.slot_key[slots], query.allowed)
            slots, which, code, tf = slots[keep], which[keep], code[keep], tf[keep]
        if slots.size == 0:
            return []
        weight = np.array([counts[t] * self.idf(t) for t in terms])
        norm = k1 * (1 - b + b * index.slot_length[slots].astype(np.float64) / avgdl)
        contribution = weight[which] * (tf * (k1 + 1) / (tf + norm))
        # sum per slot in query-term order (as BM25Okapi does): a stable sort by slot
        if len(terms) == 1:  # one term's slots are already ascending and distinct
            order = np.arange(slots.shape[0])
            scores, keys = contribution, index.slot_key[slots].astype(np.int64)
        else:
            order = np.argsort(slots, kind="stable")
            slots, contribution = slots[order], contribution[order]
            starts = np.empty(slots.shape[0], dtype=bool)
            starts[0] = True
            np.not_equal(slots[1:], slots[:-1], out=starts[1:])
            first = np.flatnonzero(starts)
            scores = np.add.reduceat(contribution, first)
            keys = index.slot_key[slots[first]].astype(np.int64)
        ranked = top_hits(keys, cast(FloatArray, scores), query.limit)
        hit_slots = [index.slot_of(key) for key, _ in ranked]
        bounds = np.searchsorted(slots, np.array([hit_slots, hit_slots]) + [[0], [1]]).T
        hits = []
        for (key, score), (lo, hi) in zip(ranked, bounds.tolist(), strict=True):
            at = order[lo:hi]  # gather positions: the query's terms in order (stable sort)
            own = (code[at] & 15).tolist()
            found = [(terms[w], o > 0) for w, o in zip(which[at].tolist(), own, strict=True)]
            why: dict[str, Any] = {"matched_terms": [t for t, o in found if o], "bm25": score}
            in_context = [t for t, o in found if not o]
            if in_context:
                why["matched_in_context"] = in_context
            hits.append(Hit(key, score, why))
        return hits

    def stats(self) -> ChannelStats:
        index = self._index
        return ChannelStats(
            documents=index.documents,
            index_bytes=index.nbytes(),
            extra={
                "terms": int(np.count_nonzero(index.df)),
                "postings": index.postings_count(),
                "slots": index.slots,
                "dead_slots": index.dead_slots,
                "avgdl": index.total_length / index.documents if index.documents else 0.0,
            },
        )

    def keys(self) -> KeyArray:
        """Keys of the stored documents, ascending."""
        index = self._index
        return np.sort(index.slot_key[: index.slots][index.alive[: index.slots]]).astype(np.int64)
