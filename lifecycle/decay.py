"""Memory strength along a forgetting curve, with spaced reinforcement.

Ebbinghaus retention with stability S (days):

    R(t) = exp(-t / S)                       t = days since the last access (or creation)

A new memory starts with ``S0 = half_life / ln 2`` (so R halves every ``half_life`` days).
Each retrieval reinforces it; the less it was remembered, the more it gains (the spacing
effect, as in SuperMemo/FSRS-style schedulers):

    S' = S * (1 + growth * (1 - R(t_access)))        so S' >= S: reinforcement never weakens

Importance and pinning are floors. Importance above the neutral 0.5 (the API's default)
holds strength up: ``strength = max(R, floor(importance))`` with

    floor(i) = importance_floor * max(0, (i - 0.5) / 0.5)       (0 at i <= 0.5, 0.5 at i = 1)

so an ordinary memory fades to the archive while an important one stays hot or warm; a
pinned memory has strength 1 (it never decays).

Tiers by strength: hot >= 0.5 > warm >= 0.25 > cold >= 0.1 > archived. Each step down is
indexed more coarsely (8-bit, 8-bit, 4-bit, 1-bit codes in the search index; SQL keeps 4-bit
for cold and archived, read back only to re-score a 1-bit shortlist); text never changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIERS = ("hot", "warm", "cold", "archived")
TIER_BITS = {"hot": 8, "warm": 8, "cold": 4, "archived": 4}
"""Precision of the code stored in SQL. The search index holds archived memories as 1-bit
codes (``channels.semantic``) and re-scores its 1-bit shortlist with these stored 4-bit codes."""


@dataclass(frozen=True, slots=True)
class DecayPolicy:
    half_life_days: float = 30.0
    growth: float = 2.0
    importance_floor: float = 0.5
    hot: float = 0.5
    warm: float = 0.25
    cold: float = 0.1

    @property
    def initial_stability(self) -> float:
        return self.half_life_days / math.log(2)


def retention(days: float, stability: float) -> float:
    """R(t) = exp(-t / S); t < 0 (clock skew) counts as 0."""
    return math.exp(-max(days, 0.0) / max(stability, 1e-9))


def reinforce(stability: float, days_since_access: float, policy: DecayPolicy) -> float:
    """Stability after one retrieval: S * (1 + growth * (1 - R))."""
    return stability * (1.0 + policy.growth * (1.0 - retention(days_since_access, stability)))


def importance_floor(importance: float, policy: DecayPolicy) -> float:
    """The strength an important memory never falls below (0 for neutral importance)."""
    return policy.importance_floor * max(0.0, (min(importance, 1.0) - 0.5) / 0.5)


def strength(
    days: float, stability: float, *, importance: float, pinned: bool, policy: DecayPolicy
) -> float:
    if pinned:
        return 1.0
    return max(retention(days, stability), importance_floor(importance, policy))


def tier_for(value: float, policy: DecayPolicy) -> str:
    if value >= policy.hot:
        return "hot"
    if value >= policy.warm:
        return "warm"
    if value >= policy.cold:
        return "cold"
    return "archived"
