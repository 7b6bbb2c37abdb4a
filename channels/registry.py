"""The registered channels. Adding a channel means one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from channels.base import Channel
from channels.entities import query_entities
from channels.graph import GraphChannel
from channels.keyword import KeywordChannel
from channels.semantic import SemanticChannel
from channels.temporal import TemporalChannel
from channels.timeparse import has_time_expression

CHANNEL_FACTORIES: dict[str, Callable[[int], Channel]] = {
    "semantic": lambda dimension: SemanticChannel(dimension=dimension),
    "keyword": lambda dimension: KeywordChannel(),
    "temporal": lambda dimension: TemporalChannel(),
    "graph": lambda dimension: GraphChannel(),
}

CHANNEL_NAMES = tuple(CHANNEL_FACTORIES)


def build_channels(*, dimension: int) -> dict[str, Channel]:
    return {name: factory(dimension) for name, factory in CHANNEL_FACTORIES.items()}


TIME_BOOST = 2.0
ENTITY_BOOST = 1.5


def weight_policy(text: str, weights: Mapping[str, float]) -> dict[str, float]:
    """Adapt fusion weights to the query: a time expression multiplies the temporal
    channel's weight by ``TIME_BOOST``, a named entity the graph channel's by
    ``ENTITY_BOOST`` (both tuned on LoCoMo dev with bench/locomo.py)."""
    adapted = dict(weights)
    if "temporal" in adapted and has_time_expression(text):
        adapted["temporal"] *= TIME_BOOST
    if "graph" in adapted and query_entities(text):
        adapted["graph"] *= ENTITY_BOOST
    return adapted
