"""Weighted reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009).

    score(d) = sum over channels c where d is ranked:  w_c / (k + rank_c(d))

with ``rank`` starting at 1. A pure function: ties are broken by the best single-channel
rank, then by the number of channels that found the document, then by key, so the
output is a deterministic function of the input. Each fused hit keeps its per-channel
rank and score so the result can explain itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from channels.base import Hit


@dataclass(frozen=True, slots=True)
class ChannelRank:
    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class FusedHit:
    key: int
    score: float
    channels: Mapping[str, ChannelRank] = field(default_factory=dict)


def fuse(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    weights: Mapping[str, float],
    k: float = 60.0,
    limit: int = 10,
) -> list[FusedHit]:
    """Fuse ranked lists (best first) into one list of at most ``limit`` hits."""
    if k <= 0:
        raise ValueError("k must be positive")
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, ChannelRank]] = {}
    for name in sorted(rankings):
        weight = float(weights.get(name, 0.0))
        seen: set[int] = set()
        for position, hit in enumerate(rankings[name], start=1):
            if hit.key in seen:
                continue
            seen.add(hit.key)
            ranks.setdefault(hit.key, {})[name] = ChannelRank(position, hit.score)
            if weight > 0:
                scores[hit.key] = scores.get(hit.key, 0.0) + weight / (k + position)
    ordered = sorted(
        scores,
        key=lambda key: (
            -scores[key],
            min(r.rank for r in ranks[key].values()),
            -len(ranks[key]),
            key,
        ),
    )
    return [FusedHit(key, scores[key], ranks[key]) for key in ordered[: max(limit, 0)]]
