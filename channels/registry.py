"""The registered channels. Adding a channel means one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from channels.base import Channel
from channels.bm25 import KeywordChannel
from channels.graph import GraphChannel
from channels.semantic import SemanticChannel
from channels.temporal import TemporalChannel

CHANNEL_FACTORIES: dict[str, Callable[[int], Channel]] = {
    "semantic": lambda dimension: SemanticChannel(dimension=dimension),
    "keyword": lambda dimension: KeywordChannel(),
    "temporal": lambda dimension: TemporalChannel(),
    "graph": lambda dimension: GraphChannel(),
}

CHANNEL_NAMES = tuple(CHANNEL_FACTORIES)


def build_channels(*, dimension: int) -> dict[str, Channel]:
    return {name: factory(dimension) for name, factory in CHANNEL_FACTORIES.items()}


def weight_policy(text: str, weights: Mapping[str, float]) -> dict[str, float]:
    """Adapt fusion weights to the query (identity until the other channels register)."""
    return dict(weights)
