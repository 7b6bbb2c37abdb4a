"""Second-pass feedback from the first pass's top hits, with no language model.

Pseudo-relevance feedback assumes the first pass's best ``FEEDBACK_DOCS`` hits are relevant
and asks again with what they share:

- **RM3 terms** for text channels (Lavrenko & Croft 2001; Abdul-Jaleel et al. 2004):
  ``P(w | R) = sum_d P(d) * tf(w, d) / |d|`` with ``P(d)`` the hits' normalised fused scores,
  weighted by the channel's ``idf(w)`` when it has one; the ``TERMS`` best words not in the
  query are appended to it.
- **Rocchio** for the query vector (Rocchio 1971):
  ``q' = normalise(q + BETA * sum_d P(d) * v_d)``.
- **Speaker**: a query that names a person ("What books has Melanie read?") is about what
  that person said ("I"/"my" in their own turns is them): the first pass's candidates whose
  ``speaker`` metadata is a person the query names, in first-pass order.
- **Neighbouring turns**: evidence often sits in the turn before or after a hit (a question
  and its answer); the first pass's top ``NEIGHBOUR_HITS`` hits contribute their
  conversation neighbours, ranked in the order of the hits they came from.

Each feedback ranking is fused next to the first pass's at ``SHARE`` of the weight of the
channel it re-ran (the speaker list at ``SHARE``, the neighbours at ``NEIGHBOUR_SHARE`` of the
mean channel weight: a neighbour is weaker evidence than the hit it sits next to), so
feedback adds evidence and cannot replace what the query itself found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from channels.base import FloatArray, Hit
from channels.text import tokenize

FEEDBACK_DOCS = 3
TERMS = 8
BETA = 0.5
NEIGHBOUR_HITS = 10
SHARE = 0.5
NEIGHBOUR_SHARE = 0.25


def rm3_terms(
    docs: Sequence[tuple[str, float]],
    query: str,
    count: int | None = None,
    idf: Callable[[str], float] | None = None,
) -> list[tuple[str, float]]:
    """The ``count`` most likely feedback words (``P(w | R)``, times ``idf(w)`` when the
    channel knows its collection: chat filler such as "great" or a speaker's name is in every
    other turn and says nothing about this query) not already in ``query``."""
    count = TERMS if count is None else count
    asked = set(tokenize(query))
    total = sum(weight for _, weight in docs) or 1.0
    model: dict[str, float] = {}
    for text, weight in docs:
        words = tokenize(text)
        if not words:
            continue
        for word, tf in Counter(words).items():
            model[word] = model.get(word, 0.0) + (weight / total) * tf / len(words)
    if idf is not None:
        model = {w: p * idf(w) for w, p in model.items()}
    ranked = sorted(
        ((w, p) for w, p in model.items() if w not in asked and not w.isdigit() and p > 0),
        key=lambda item: (-item[1], item[0]),
    )
    return [(w, round(p, 4)) for w, p in ranked[:count]]


def rocchio(
    query: FloatArray, docs: Sequence[tuple[FloatArray, float]], beta: float = BETA
) -> FloatArray:
    """``normalise(q + beta * sum_d P(d) v_d)``; ``q`` itself when there are no docs."""
    if not docs:
        return np.asarray(query, dtype=np.float32)
    total = sum(weight for _, weight in docs) or 1.0
    centroid = np.sum([v * (w / total) for v, w in docs], axis=0)
    moved: FloatArray = np.asarray(query, dtype=np.float32) + beta * centroid
    return (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)


def neighbour_hits(
    ranked: Sequence[int],
    neighbours: Callable[[int], tuple[int | None, int | None]],
    count: int = NEIGHBOUR_HITS,
) -> list[Hit]:
    """The conversation neighbours of the top ``count`` keys, best parent first (the turn
    after before the turn before: an answer follows its question)."""
    seen = set(ranked[:count])
    out: list[Hit] = []
    for position, key in enumerate(ranked[:count]):
        before, after = neighbours(key)
        for near, side in ((after, "after"), (before, "before")):
            if near is not None and near not in seen:
                seen.add(near)
                out.append(
                    Hit(near, 1.0 / (position + 1), {"next_to_rank": position + 1, "side": side})
                )
    return out
