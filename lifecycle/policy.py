"""Per-tenant lifecycle policy, stored as JSON on the tenant, with safe defaults.

```json
{"half_life_days": 30, "growth": 2.0, "importance_floor": 0.5,
 "tiers": {"hot": 0.5, "warm": 0.25, "cold": 0.1},
 "consolidation": {"enabled": true, "min_cosine": 0.9, "min_token_overlap": 0.8,
                   "include_pinned": false, "max_group": 20000},
 "contradictions": true, "supersession": true}
```

``supersession``: detect when a new memory outdates an older one (``lifecycle.claims``), in
the write path and in the lifecycle run, and supersede the older one (reviewable, undoable).

Every key is optional; a missing key keeps its default. The defaults are conservative:
consolidation needs both a high cosine *and* a high word overlap, pinned memories are never
merged, and nothing is ever deleted (sources stay readable by id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from lifecycle.decay import DecayPolicy


@dataclass(frozen=True, slots=True)
class ConsolidationPolicy:
    enabled: bool = True
    min_cosine: float = 0.9
    """Cosine similarity of the two embeddings (both tests must pass, never cosine alone)."""
    min_token_overlap: float = 0.8
    """Jaccard overlap of the two memories' word sets."""
    include_pinned: bool = False
    max_group: int = 20_000
    """Only the newest ``max_group`` memories of one scope are compared (bounded work)."""


@dataclass(frozen=True, slots=True)
class TenantPolicy:
    decay: DecayPolicy = field(default_factory=DecayPolicy)
    consolidation: ConsolidationPolicy = field(default_factory=ConsolidationPolicy)
    contradictions: bool = True
    supersession: bool = True


def _bounded(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}]")
    return float(value)


def policy_from_mapping(data: Mapping[str, Any] | None) -> TenantPolicy:
    """Parse a stored policy; raises ``ValueError`` naming the first bad field."""
    data = dict(data or {})
    decay = DecayPolicy()
    updates: dict[str, float] = {}
    for name, (low, high) in {
        "half_life_days": (0.01, 36_500),
        "growth": (0, 100),
        "importance_floor": (0, 1),
    }.items():
        if name in data:
            updates[name] = _bounded(name, data.pop(name), low, high)
    tiers = data.pop("tiers", {}) or {}
    if not isinstance(tiers, Mapping) or set(tiers) - {"hot", "warm", "cold"}:
        raise ValueError("tiers must be an object with hot / warm / cold thresholds")
    for name in ("hot", "warm", "cold"):
        if name in tiers:
            updates[name] = _bounded(f"tiers.{name}", tiers[name], 0, 1)
    decay = replace(decay, **updates)
    if not decay.hot >= decay.warm >= decay.cold:
        raise ValueError("tier thresholds must satisfy hot >= warm >= cold")

    merge = data.pop("consolidation", {}) or {}
    if not isinstance(merge, Mapping):
        raise ValueError("consolidation must be an object")
    known = {f.name for f in fields(ConsolidationPolicy)}
    if set(merge) - known:
        raise ValueError(f"unknown consolidation keys: {sorted(set(merge) - known)}")
    consolidation = ConsolidationPolicy(
        enabled=bool(merge.get("enabled", True)),
        min_cosine=_bounded("consolidation.min_cosine", merge.get("min_cosine", 0.9), 0.5, 1),
        min_token_overlap=_bounded(
            "consolidation.min_token_overlap", merge.get("min_token_overlap", 0.8), 0.1, 1
        ),
        include_pinned=bool(merge.get("include_pinned", False)),
        max_group=int(
            _bounded("consolidation.max_group", merge.get("max_group", 20_000), 2, 200_000)
        ),
    )
    contradictions = data.pop("contradictions", True)
    if not isinstance(contradictions, bool):
        raise ValueError("contradictions must be true or false")
    supersession = data.pop("supersession", True)
    if not isinstance(supersession, bool):
        raise ValueError("supersession must be true or false")
    if data:
        raise ValueError(f"unknown policy keys: {sorted(data)}")
    return TenantPolicy(
        decay=decay,
        consolidation=consolidation,
        contradictions=contradictions,
        supersession=supersession,
    )


def policy_to_mapping(policy: TenantPolicy) -> dict[str, Any]:
    d = policy.decay
    c = policy.consolidation
    return {
        "half_life_days": d.half_life_days,
        "growth": d.growth,
        "importance_floor": d.importance_floor,
        "tiers": {"hot": d.hot, "warm": d.warm, "cold": d.cold},
        "consolidation": {
            "enabled": c.enabled,
            "min_cosine": c.min_cosine,
            "min_token_overlap": c.min_token_overlap,
            "include_pinned": c.include_pinned,
            "max_group": c.max_group,
        },
        "contradictions": policy.contradictions,
        "supersession": policy.supersession,
    }
