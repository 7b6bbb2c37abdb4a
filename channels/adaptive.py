"""Fusion weights adapted to one query from evidence every query has (a pure function).

Starting from the configured weights ``w_c``:

1. **Rules** (``ChannelSpec.boost``): a query form a channel is built for multiplies its
   weight (a time expression: temporal; a named entity: graph).
2. **Confidence**: a channel whose list is peaked (its best scores stand out from the rest)
   knows more about this query than one whose list is flat. Peakedness is scale-free,
   ``p_c = (s_1 - s_m) / (s_1 - s_n + eps)`` over its top ``n`` scores, ``s_m`` the median
   (0: flat, towards 1: a few hits stand out). Each channel's weight is multiplied by
   ``((p_c + 1) / (mean_p + 1)) ^ CONFIDENCE``: relative to the other channels, so the
   weights' overall level is unchanged.
3. **Agreement**: a channel whose top ``TOP`` hits other channels also rank high is
   corroborated; ``a_c`` = the share of its top hits found in another channel's top
   ``DEPTH``. Multiplied by ``((a_c + 1) / (mean_a + 1)) ^ AGREEMENT``.

A channel with no hits keeps its weight (it adds nothing to fusion anyway). Weights given
with the request are used as given: no rule, no evidence overrides a caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from channels.base import Hit

CONFIDENCE = 1.0
AGREEMENT = 1.0
TOP = 10
DEPTH = 50
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Adapted:
    weights: dict[str, float]
    reasons: dict[str, list[str]] = field(default_factory=dict)
    """Per channel, why its weight moved (what explain shows)."""


def peakedness(scores: Sequence[float], n: int = DEPTH) -> float:
    """``(s_1 - s_median) / (s_1 - s_n)`` over the top ``n`` scores; 0 for < 3 scores."""
    top = list(scores[:n])
    if len(top) < 3:
        return 0.0
    spread = top[0] - top[-1]
    if spread <= EPS:
        return 0.0
    return float((top[0] - top[len(top) // 2]) / spread)


def agreement(rankings: Mapping[str, Sequence[Hit]], name: str) -> float:
    """Share of ``name``'s top ``TOP`` hits that another channel has in its top ``DEPTH``."""
    own = [h.key for h in rankings[name][:TOP]]
    if not own:
        return 0.0
    others: set[int] = set()
    for other, hits in rankings.items():
        if other != name:
            others.update(h.key for h in hits[:DEPTH])
    return sum(key in others for key in own) / len(own)


def adapt(
    weights: Mapping[str, float],
    rankings: Mapping[str, Sequence[Hit]],
    *,
    boosts: Mapping[str, tuple[float, str]] = {},  # noqa: B006 - read only
    evidence: bool = True,
) -> Adapted:
    """The weights for this query and the reasons they moved (see the module docstring)."""
    out = dict(weights)
    reasons: dict[str, list[str]] = {name: [] for name in out}
    for name, (factor, why) in boosts.items():
        if name in out:
            out[name] *= factor
            reasons[name].append(f"x{factor:g}: {why}")
    answered = [n for n in out if rankings.get(n)]
    if evidence and len(answered) >= 2:
        _relative(
            out,
            reasons,
            answered,
            {n: peakedness(_scores(rankings[n])) for n in answered},
            CONFIDENCE,
            "peaked list",
            "flat list",
        )
        _relative(
            out,
            reasons,
            answered,
            {n: agreement(rankings, n) for n in answered},
            AGREEMENT,
            "other channels agree",
            "other channels disagree",
        )
    return Adapted(
        {n: round(w, 6) for n, w in out.items()}, {n: r for n, r in reasons.items() if r}
    )


def _scores(hits: Sequence[Hit]) -> list[float]:
    return [h.score for h in hits]


def _relative(
    out: dict[str, float],
    reasons: dict[str, list[str]],
    names: Sequence[str],
    signal: Mapping[str, float],
    power: float,
    high: str,
    low: str,
) -> None:
    if power == 0:
        return
    mean = sum(signal.values()) / len(signal)
    for name in names:
        factor = ((signal[name] + 1.0) / (mean + 1.0)) ** power
        out[name] *= factor
        if abs(factor - 1.0) >= 0.05:
            label = high if factor > 1 else low
            reasons[name].append(f"x{factor:.2f}: {label} ({signal[name]:.2f} vs mean {mean:.2f})")
