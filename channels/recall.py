"""Which steps of the search pipeline run; benchmarks switch single steps off or on to
measure what each adds (``bench/tune_fusion.py --ablate NAME`` / ``--enable NAME``). The
defaults are the steps that paid on the LoCoMo tune split (docs/benchmarks.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tuning:
    """Each flag's gain in turn-level Recall@10 (categories 1-4) on the LoCoMo tune split
    (conversations 0-3), all else at its default, k=8 (docs/benchmarks.md)."""

    split_dialogue: bool = True
    """Plan a dialogue as focus + context parts (``channels.query_plan``): dialogue queries
    0.060 -> 0.777."""
    boosts: bool = True
    """The channels' adaptive rules (``ChannelSpec.boost``): +0.008."""
    evidence: bool = False
    """Confidence and agreement weights (``channels.adaptive``): -0.006 on questions, so
    off (also no gain on dialogue or typo'd queries) until a data set shows them paying."""
    rm3: bool = False
    """RM3 terms for text channels (``channels.feedback``): +0.003 (held out +0.002), within
    the noise, for a second keyword search (~8 ms of a loaded search at 10k memories), so
    off."""
    rocchio: bool = False
    """Rocchio for vector channels: +0.000, so off (it costs a second semantic search)."""
    speaker: bool = True
    """First-pass candidates spoken by a person the query names: +0.008."""
    neighbours: bool = False
    """The top hits' conversation neighbours (``NEIGHBOUR_SHARE``): -0.003, so off."""
