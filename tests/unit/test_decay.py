"""Property tests of the forgetting curve."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.decay import (
    TIERS,
    DecayPolicy,
    importance_floor,
    reinforce,
    retention,
    strength,
    tier_for,
)

policy = DecayPolicy()
days = st.floats(0, 3650, allow_nan=False)
stabilities = st.floats(0.1, 5000, allow_nan=False)
importance = st.floats(0, 1, allow_nan=False)


@given(days, days, stabilities, importance)
def test_strength_never_grows_with_time(t1: float, t2: float, s: float, imp: float) -> None:
    early, late = sorted((t1, t2))
    assert strength(late, s, importance=imp, pinned=False, policy=policy) <= strength(
        early, s, importance=imp, pinned=False, policy=policy
    )


@given(days, stabilities, days)
def test_reinforcement_never_lowers_strength(t: float, s: float, later: float) -> None:
    boosted = reinforce(s, t, policy)
    assert boosted >= s
    assert retention(later, boosted) >= retention(later, s)


@given(days, stabilities, importance)
def test_pinned_never_decays_and_importance_is_a_floor(t: float, s: float, imp: float) -> None:
    assert strength(t, s, importance=imp, pinned=True, policy=policy) == 1.0
    assert strength(t, s, importance=imp, pinned=False, policy=policy) >= importance_floor(
        imp, policy
    )
    assert importance_floor(0.5, policy) == 0.0  # the default importance lets a memory fade
    assert importance_floor(1.0, policy) == policy.importance_floor


def test_half_life_and_tiers_step_down_in_order() -> None:
    s0 = policy.initial_stability
    assert abs(retention(policy.half_life_days, s0) - 0.5) < 1e-9
    seen = [
        tier_for(strength(d, s0, importance=0, pinned=False, policy=policy), policy)
        for d in range(0, 400, 5)
    ]
    assert [TIERS.index(t) for t in seen] == sorted(TIERS.index(t) for t in seen)
    assert seen[0] == "hot" and seen[-1] == "archived"
