"""Property tests for weighted reciprocal rank fusion."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.base import Hit
from channels.fusion import fuse

rankings_strategy = st.dictionaries(
    st.sampled_from(["semantic", "keyword", "graph", "temporal"]),
    st.lists(st.integers(0, 40), max_size=25, unique=True).map(
        lambda keys: [Hit(k, 1.0 / (i + 1)) for i, k in enumerate(keys)]
    ),
    max_size=4,
)
weights_strategy = st.fixed_dictionaries(
    {n: st.floats(0.0, 3.0) for n in ["semantic", "keyword", "graph", "temporal"]}
)


@given(rankings_strategy, weights_strategy, st.integers(1, 30))
def test_fusion_is_deterministic_and_sorted(rankings, weights, limit) -> None:  # type: ignore[no-untyped-def]
    first = fuse(rankings, weights=weights, limit=limit)
    assert first == fuse(dict(reversed(list(rankings.items()))), weights=weights, limit=limit)
    assert len(first) <= limit
    scores = [h.score for h in first]
    assert scores == sorted(scores, reverse=True)
    assert len({h.key for h in first}) == len(first)


@given(rankings_strategy, weights_strategy)
def test_fused_hit_keeps_its_per_channel_ranks(rankings, weights) -> None:  # type: ignore[no-untyped-def]
    for hit in fuse(rankings, weights=weights, limit=100):
        for name, rank in hit.channels.items():
            assert rankings[name][rank.rank - 1].key == hit.key
        expected = sum(weights[n] / (60 + r.rank) for n, r in hit.channels.items())
        assert abs(hit.score - expected) < 1e-9


@given(rankings_strategy, weights_strategy)
def test_single_channel_order_is_preserved(rankings, weights) -> None:  # type: ignore[no-untyped-def]
    for name, hits in rankings.items():
        if weights[name] <= 0:
            continue
        fused = fuse({name: hits}, weights=weights, limit=100)
        assert [h.key for h in fused] == [h.key for h in hits]


@given(rankings_strategy, st.floats(0.1, 3.0))
def test_raising_a_channels_weight_never_demotes_its_top_hit(rankings, boost) -> None:  # type: ignore[no-untyped-def]
    base = {n: 1.0 for n in ["semantic", "keyword", "graph", "temporal"]}
    for name, hits in rankings.items():
        if not hits:
            continue
        top = hits[0].key
        before = [h.key for h in fuse(rankings, weights=base, limit=100)].index(top)
        boosted = {**base, name: base[name] + boost}
        after = [h.key for h in fuse(rankings, weights=boosted, limit=100)].index(top)
        assert after <= before


def test_ties_break_by_best_rank_then_key() -> None:
    rankings = {"a": [Hit(5, 1.0), Hit(3, 0.5)], "b": [Hit(3, 1.0), Hit(5, 0.5)]}
    fused = fuse(rankings, weights={"a": 1, "b": 1}, limit=10)
    assert [h.key for h in fused] == [3, 5]


def test_zero_weight_channel_contributes_ranks_but_no_score() -> None:
    fused = fuse({"a": [Hit(1, 1.0)], "b": [Hit(2, 1.0)]}, weights={"a": 1.0, "b": 0.0}, limit=10)
    assert [h.key for h in fused] == [1]
