"""The registered channels: one ``ChannelSpec`` each, the only place a channel is named.

A spec declares everything the rest of the system needs to run a channel: how to build it,
its default fusion weight, the inputs its searches need (the query's embedding, a re-scorer
that reads stored vectors back) and its adaptive rule (when a query's form calls for more
of it). The engine, the search service and the settings read specs; none names a channel.
Adding a channel is one module plus one ``register(ChannelSpec(...))`` line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from channels.base import Channel
from channels.entities import query_entities
from channels.graph import GraphChannel
from channels.keyword import KeywordChannel
from channels.semantic import SemanticChannel
from channels.temporal import TemporalChannel
from channels.timeparse import has_time_expression

Boost = Callable[[str], tuple[float, str] | None]
"""The query text -> (weight multiplier, the reason shown by explain), or None: no boost."""


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    factory: Callable[[int], Channel]
    """The embedding dimension -> a new, empty channel (one per tenant)."""
    default_weight: float
    """Fusion weight when settings and the request name none; must be positive."""
    needs_vector: bool = False
    """Its searches read ``Query.vector``: the service embeds the query when it runs."""
    needs_rescorer: bool = False
    """It has a ``rescore`` attribute the engine sets to a reader of stored vectors."""
    boost: Boost | None = None
    """Its adaptive rule (query form -> weight multiplier), applied before fusion."""
    feedback: Literal["text", "vector"] | None = None
    """How a second pass re-asks it (``channels.feedback``): ``text`` with RM3 terms added
    to the query, ``vector`` with the Rocchio-moved query vector; ``None``: no second pass."""


_SPECS: dict[str, ChannelSpec] = {}


def register(spec: ChannelSpec) -> None:
    if spec.default_weight <= 0:
        raise ValueError(f"channel {spec.name!r} needs a positive default weight")
    _SPECS[spec.name] = spec


def unregister(name: str) -> None:
    """Forget a channel (tests that register a toy channel clean up with this)."""
    _SPECS.pop(name, None)


def specs() -> dict[str, ChannelSpec]:
    """Every registered spec, in registration order."""
    return dict(_SPECS)


def channel_names() -> tuple[str, ...]:
    return tuple(_SPECS)


def build_channels(*, dimension: int) -> dict[str, Channel]:
    return {name: spec.factory(dimension) for name, spec in _SPECS.items()}


def resolve_weights(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every registered channel's weight: the override where one is given, else the spec's
    default (a channel left out of the settings is never silently switched off)."""
    given = dict(overrides or {})
    return {name: float(given.get(name, spec.default_weight)) for name, spec in _SPECS.items()}


def _time_boost(text: str) -> tuple[float, str] | None:
    return (TIME_BOOST, "the query names a time") if has_time_expression(text) else None


def _entity_boost(text: str) -> tuple[float, str] | None:
    found = query_entities(text)
    return (ENTITY_BOOST, f"the query names {len(found)} entit(ies)") if found else None


# Tuned on LoCoMo dev with bench/tune_fusion.py (docs/benchmarks.md).
TIME_BOOST = 2.0
ENTITY_BOOST = 1.5

register(
    ChannelSpec(
        "semantic",
        lambda dimension: SemanticChannel(dimension=dimension),
        default_weight=0.8,
        needs_vector=True,
        needs_rescorer=True,
        feedback="vector",
    )
)
register(
    ChannelSpec("keyword", lambda dimension: KeywordChannel(), default_weight=1.0, feedback="text")
)
register(
    ChannelSpec(
        "temporal", lambda dimension: TemporalChannel(), default_weight=0.6, boost=_time_boost
    )
)
register(
    ChannelSpec("graph", lambda dimension: GraphChannel(), default_weight=0.3, boost=_entity_boost)
)


def boosts(text: str) -> dict[str, tuple[float, str]]:
    """Channel -> (multiplier, reason) for every spec whose adaptive rule fires on ``text``."""
    out: dict[str, tuple[float, str]] = {}
    for name, spec in _SPECS.items():
        fired = spec.boost(text) if spec.boost is not None else None
        if fired is not None:
            out[name] = fired
    return out
