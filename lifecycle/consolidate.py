"""Consolidation, the pure part: which memories are near-duplicates, and what the merged one says.

Two memories of one scope are near-duplicates when **both** hold (never cosine alone):

    cos(v_a, v_b) >= min_cosine        and        |W_a ∩ W_b| / |W_a ∪ W_b| >= min_token_overlap
                                       and        N_a = N_b

where ``W`` is the set of lower-cased words and ``N`` the set of numbers in it (so "room 12"
and "room 14", or two dated entries of a template, are never merged). Clusters are formed greedily, oldest memory
first: a cluster is a seed and every still-free memory that is a near-duplicate *of the seed*
(no chaining through intermediates, so a cluster cannot drift).

The consolidated text is extractive: the sources' sentences in order, oldest source first,
dropping a sentence only when every word of it already appears in the sentences kept. So
every word of every source survives in the consolidated memory (a keyword search for any
phrase of a source finds it), and repeated statements appear once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _numbers(word_set: set[str]) -> set[str]:
    return {w for w in word_set if any(c.isdigit() for c in w)}


def token_overlap(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def clusters(
    vectors: np.ndarray,
    word_sets: Sequence[set[str]],
    *,
    min_cosine: float,
    min_overlap: float,
    block: int = 1024,
) -> list[list[int]]:
    """Groups of row indexes (each of size >= 2, seed first); rows are in seed order."""
    n = len(word_sets)
    if n < 2:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    candidates: list[np.ndarray] = []
    for start in range(0, n, block):
        sims = unit[start : start + block] @ unit.T
        candidates.extend(np.flatnonzero(row >= min_cosine) for row in sims)
    taken = np.zeros(n, dtype=bool)
    groups: list[list[int]] = []
    for seed in range(n):
        if taken[seed]:
            continue
        group = [seed]
        for other in candidates[seed]:
            other = int(other)
            if other == seed or taken[other]:
                continue
            a, b = word_sets[seed], word_sets[other]
            if token_overlap(a, b) >= min_overlap and _numbers(a) == _numbers(b):
                group.append(other)
        if len(group) > 1:
            taken[group] = True
            groups.append(group)
    return groups


def extractive_summary(texts: Sequence[str]) -> str:
    """The sources' sentences, each kept unless all of its words are already covered."""
    kept: list[str] = []
    covered: set[str] = set()
    for text in texts:
        for sentence in _SENTENCE.split(text.strip()):
            sentence = sentence.strip()
            if not sentence:
                continue
            sentence_words = words(sentence)
            if sentence_words and sentence_words <= covered:
                continue
            kept.append(sentence)
            covered |= sentence_words
    return " ".join(kept)
