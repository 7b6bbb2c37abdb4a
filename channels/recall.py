"""Which steps of the search pipeline run; benchmarks switch single steps off or on to
measure what each adds (``bench/tune_fusion.py --ablate NAME`` / ``--enable NAME``). The
defaults are the steps that paid on the LoCoMo tune split (docs/benchmarks.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tuning:
    split_dialogue: bool = True
    """Plan a dialogue as focus + context parts (``channels.query_plan``)."""
    boosts: bool = True
    """The channels' adaptive rules (``ChannelSpec.boost``)."""
    evidence: bool = False
    """Confidence and agreement weights (``channels.adaptive``). Measured on the tune split
    at k=8: -0.012 Recall@10 on questions, -0.008 on dialogue queries, -0.012 on typo'd
    questions, so off until a data set shows them paying."""
    rm3: bool = True
    """RM3 terms for text channels (``channels.feedback``)."""
    rocchio: bool = False
    """Rocchio for vector channels (measured on the tune split: -0.004 Recall@10, so off)."""
    speaker: bool = True
    """First-pass candidates spoken by a person the query names."""
    neighbours: bool = True
    """The top hits' conversation neighbours (``NEIGHBOUR_SHARE``): +0.009 / +0.005."""
