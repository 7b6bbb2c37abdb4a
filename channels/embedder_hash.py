"""A small deterministic embedder for tests: signed feature hashing of words and trigrams.

Features of a text: the Snowball-stemmed lowercase words (weight 1) minus a few stopwords,
and the character trigrams of those words with boundary marks (weight 0.25 each, so a typo
or another inflection still overlaps). Each feature f lands in bucket ``h(f) mod d`` with
sign ``+-1`` from one more bit of ``h`` (the hashing trick, Weinberger et al. 2009), and the
vector is L2-normalised. Signed buckets keep unrelated texts near cosine 0 while texts that
share words or word pieces score higher, so semantic tests mean something without a model.
``h`` is BLAKE2b, stable across processes (unlike ``hash()``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import Stemmer

from channels.base import FloatArray

_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "will",
        "with",
        "you",
        "your",
    ]
)
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.25


class HashEmbedder:
    """Deterministic, model-free embedder; ``embed`` is thread-safe (no shared mutable state)."""

    def __init__(self, *, dimension: int = 384, model_name: str = "hash") -> None:
        if dimension < 2:
            raise ValueError("dimension must be at least 2")
        self.dimension = dimension
        self.model_name = model_name
        self._stem = lru_cache(maxsize=65536)(self._stem_word)

    @staticmethod
    def _stem_word(word: str) -> str:
        # PyStemmer objects are not thread-safe: one per call is cheap next to the cache.
        return str(Stemmer.Stemmer("english").stemWord(word))

    def features(self, text: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for word in _WORD.findall(text.lower()):
            if word in _STOPWORDS:
                continue
            stem = self._stem(word)
            weights["w:" + stem] = weights.get("w:" + stem, 0.0) + WORD_WEIGHT
            marked = f"<{word}>"
            for i in range(len(marked) - 2):
                gram = "t:" + marked[i : i + 3]
                weights[gram] = weights.get(gram, 0.0) + TRIGRAM_WEIGHT
        return weights or {"empty": 1.0}

    def embed(self, texts: Sequence[str]) -> FloatArray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self.features(text).items():
                bucket, sign = _bucket(feature, self.dimension)
                out[row, bucket] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # A row can cancel out to zero only by an unlucky collision; give it a fixed axis.
        out[norms[:, 0] == 0.0, 0] = 1.0
        norms[norms == 0.0] = 1.0
        out /= norms
        return out


@lru_cache(maxsize=262144)
def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return (h >> 1) % dimension, 1.0 if h & 1 else -1.0
