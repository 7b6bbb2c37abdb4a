"""Keyword channel: Okapi BM25 over an incremental inverted index.

Scores are exactly rank-bm25's ``BM25Okapi`` (the test oracle):

    score(D, Q) = sum_{q in Q} idf(q) * f(q,D) * (k1 + 1) / (f(q,D) + k1 * (1 - b + b * |D| / avgdl))
    idf(q)      = ln(N - n(q) + 0.5) - ln(n(q) + 0.5), floored at epsilon * mean idf when negative

(Robertson & Zaragoza 2009; the floor is rank-bm25's ATIRE-style fix for terms in more than
half the documents). Corpus statistics (N, n(q), avgdl) cover the whole tenant; the scope
only restricts which documents are ranked.

A memory's conversation neighbours (``Doc.context_before/after``, see ``channels.context``)
are indexed as a second field with weight ``context_weight`` (BM25F, Robertson et al. 2004):
their terms count ``context_weight`` towards f(q,D) and |D|. A document without context
scores exactly as in BM25Okapi.

Writes are incremental: a document's postings are added or dropped in per-term dicts, and
a term's numpy posting arrays are rebuilt lazily, only when that term is next queried.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import Stemmer

from channels.base import ChannelStats, Doc, FloatArray, Hit, KeyArray, Query, top_hits

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "just",
        "really",
        "oh",
        "yeah",
        "hey",
        "hi",
        "okay",
        "ok",
        "s",
        "t",
        "d",
        "ll",
        "re",
        "ve",
        "m",
        "will",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_STEMMER = Stemmer.Stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a PyStemmer object is not safe to share between threads


def tokenize(text: str) -> list[str]:
    """Lowercase, strip accents and punctuation, drop possessives and stop words, stem."""
    return list(_tokenize(text))


@lru_cache(maxsize=16_384)
def _tokenize(text: str) -> tuple[str, ...]:
    # A text is tokenized for itself and again as its neighbours' context: cache it.
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = []
    for word in _WORD.findall(text):
        word = word.replace("’", "'")
        if word in STOP_WORDS:
            continue
        if word.endswith("'s"):
            word = word[:-2]
        word = word.replace("'", "")
        if word and word not in STOP_WORDS:
            words.append(word)
    with _STEMMER_LOCK:
        return tuple(_STEMMER.stemWords(words))


class _Posting:
    __slots__ = ("arrays", "tf")

    def __init__(self) -> None:
        self.tf: dict[int, float] = {}
        self.arrays: tuple[KeyArray, FloatArray] | None = None

    def materialize(self) -> tuple[KeyArray, FloatArray]:
        if self.arrays is None:
            keys = np.fromiter(self.tf.keys(), dtype=np.int64, count=len(self.tf))
            tfs = np.fromiter(self.tf.values(), dtype=np.float32, count=len(self.tf))
            self.arrays = (keys, tfs)
        return self.arrays


class KeywordChannel:
    name = "keyword"

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        context_weight: float = 0.5,
    ) -> None:
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.context_weight = context_weight
        self._reset()

    def _reset(self) -> None:
        self._postings: dict[str, _Posting] = {}
        self._terms_of: dict[int, dict[str, float]] = {}
        self._own_terms: dict[int, frozenset[str]] = {}
        self._length = np.zeros(1024, dtype=np.float32)
        self._total_length = 0.0
        self._idf_sum: float | None = None

    # writes

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            self._drop(doc.key)
            own = Counter(tokenize(doc.content))
            terms: dict[str, float] = {t: float(n) for t, n in own.items()}
            context = tokenize(doc.context_before) + tokenize(doc.context_after)
            for term, n in Counter(context).items():
                terms[term] = terms.get(term, 0.0) + self.context_weight * n
            self._terms_of[doc.key] = terms
            self._own_terms[doc.key] = frozenset(own)
            if doc.key >= self._length.shape[0]:
                grown = np.zeros(max(doc.key + 1, self._length.shape[0] * 2), dtype=np.float32)
                grown[: self._length.shape[0]] = self._length
                self._length = grown
            length = sum(terms.values())
            self._length[doc.key] = length
            self._total_length += length
            for term, tf in terms.items():
                posting = self._postings.get(term)
                if posting is None:
                    posting = self._postings[term] = _Posting()
                posting.tf[doc.key] = tf
                posting.arrays = None
        self._idf_sum = None

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._drop(key)
        self._idf_sum = None

    def _drop(self, key: int) -> None:
        terms = self._terms_of.pop(key, None)
        self._own_terms.pop(key, None)
        if terms is None:
            return
        self._total_length -= float(self._length[key])
        self._length[key] = 0
        for term in terms:
            posting = self._postings[term]
            del posting.tf[key]
            posting.arrays = None
            if not posting.tf:
                del self._postings[term]

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._reset()
        self.upsert(list(docs))

    # reads

    def _idf(self, df: int) -> float:
        n = len(self._terms_of)
        idf = math.log(n - df + 0.5) - math.log(df + 0.5)
        if idf >= 0:
            return idf
        if self._idf_sum is None:
            dfs = np.fromiter((len(p.tf) for p in self._postings.values()), dtype=np.float64)
            self._idf_sum = float(np.sum(np.log(n - dfs + 0.5) - np.log(dfs + 0.5)))
        return self.epsilon * self._idf_sum / max(len(self._postings), 1)

    def search(self, query: Query) -> list[Hit]:
        n = len(self._terms_of)
        terms = [t for t in tokenize(query.text) if t in self._postings]
        if not terms or n == 0 or query.limit <= 0:
            return []
        avgdl = self._total_length / n
        scores = np.zeros(self._length.shape[0], dtype=np.float64)
        touched = np.zeros(self._length.shape[0], dtype=bool)
        for term in terms:
            keys, tfs = self._postings[term].materialize()
            norm = self.k1 * (1 - self.b + self.b * self._length[keys] / avgdl)
            scores[keys] += self._idf(len(keys)) * tfs * (self.k1 + 1) / (tfs + norm)
            touched[keys] = True
        if query.allowed is not None:
            allowed = query.allowed[query.allowed < touched.shape[0]]
            candidates = allowed[touched[allowed]]
        else:
            candidates = np.flatnonzero(touched)
        ranked = top_hits(candidates, scores[candidates], query.limit)  # type: ignore[arg-type]
        query_terms = set(terms)
        hits = []
        for key, _ in ranked:
            matched = query_terms & self._terms_of[key].keys()
            own = matched & self._own_terms[key]
            why = {"matched_terms": sorted(own), "bm25": round(float(scores[key]), 4)}
            if matched - own:
                why["matched_in_context"] = sorted(matched - own)
            hits.append(Hit(key, float(scores[key]), why))
        return hits

    def stats(self) -> ChannelStats:
        postings = sum(len(p.tf) for p in self._postings.values())
        return ChannelStats(
            documents=len(self._terms_of),
            index_bytes=postings * 12 + self._length.nbytes,
            extra={"terms": len(self._postings), "postings": postings},
        )
