"""Calibrated relevance: the estimated probability that a hit is relevant, in [0, 1].

A logistic model over what the channels said about the hit,

    relevance = 1 / (1 + exp(-(b + sum_f c_f * x_f)))

with features ``x``: for every ranked list ``L`` (each channel, each feedback list) the
reciprocal rank ``1 / rank_L`` (0 when ``L`` did not find the hit), the cosine where a
cosine-scored channel found it, how many lists found it and ``1 / position`` in the fused
list. The coefficients
below were fitted by logistic regression on the LoCoMo dev tune split (conversations 0-3,
the top 10 fused hits of every question, label: the turn is cited as evidence):

    .venv/bin/python bench/fit_relevance.py ../shared/bench/locomo/locomo-dev.json --fit 0-3 --report 4-5

A list the table does not know (a newly registered channel) adds nothing until refitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol


class Ranked(Protocol):
    @property
    def rank(self) -> int: ...

    @property
    def score(self) -> float: ...


# fitted 2026-12-01 on 7,550 hits (9.2% relevant); see the module docstring for the command
INTERCEPT = -4.2518
RECIPROCAL_RANK: dict[str, float] = {
    "graph": 1.1311,
    "keyword": 1.5036,
    "semantic": 0.1071,
    "speaker": 0.4845,
    "temporal": 0.8581,
}
COSINE: dict[str, float] = {"semantic": 0.5123}
"""Per list whose score is a cosine: its coefficient on that score."""
FOUND_BY = 0.0758
"""Coefficient on the number of lists (channels and feedback) that found the hit."""
POSITION = 1.1261
"""Coefficient on ``1 / position`` in the fused list."""


def features(ranks: Mapping[str, Ranked], position: int) -> dict[str, float]:
    out = {f"rr:{name}": 1.0 / r.rank for name, r in ranks.items()}
    out["position"] = 1.0 / position
    out.update({f"cos:{name}": float(ranks[name].score) for name in COSINE if name in ranks})
    out["found_by"] = float(len(ranks))
    return out


def relevance(ranks: Mapping[str, Ranked], position: int) -> float:
    """The hit's relevance from its ranks (and scores) in every list and its fused position."""
    z = INTERCEPT + FOUND_BY * len(ranks) + POSITION / position
    for name, r in ranks.items():
        z += RECIPROCAL_RANK.get(name, 0.0) / r.rank
        if name in COSINE:
            z += COSINE[name] * float(r.score)
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
