"""Pure parts of narrower keys: the token bucket and a key's binding."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.principals import UNBOUND, Binding, Principal, PrincipalCache
from service.ratelimit import Rate, RateLimited, RateLimiter
from storage.errors import Forbidden


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    key, rate = uuid.uuid4(), Rate(per_second=2.0, burst=3)
    assert [limiter.take(key, rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(key, rate) == pytest.approx(0.5)
    clock.now = 0.5  # one token back
    assert limiter.take(key, rate) == 0.0
    assert limiter.take(key, rate) == pytest.approx(0.5)
    clock.now = 100.0  # refills to the burst, never beyond
    assert [limiter.take(key, rate) for _ in range(4)][-1] > 0.0
    other = uuid.uuid4()
    assert limiter.take(other, rate) == 0.0  # buckets are per key


def test_check_raises_with_whole_seconds_to_wait() -> None:
    limiter = RateLimiter(clock=Clock())
    key, rate = uuid.uuid4(), Rate(per_second=0.25, burst=1)
    limiter.check(key, rate)
    with pytest.raises(RateLimited) as refused:
        limiter.check(key, rate)
    assert refused.value.extra["retry_after"] == 4
    limiter.check(key, None)  # no limit: never refused
    limiter.forget(key)
    limiter.check(key, rate)  # a forgotten key starts with a full bucket


def test_rate_of_defaults_the_burst() -> None:
    assert Rate.of(None, 5) is None
    assert Rate.of(2.5, None) == Rate(2.5, 3)
    assert Rate.of(0.1, None) == Rate(0.1, 1)
    assert Rate.of(4, 10) == Rate(4, 10)


@given(
    st.floats(0.1, 100.0),
    st.integers(1, 50),
    st.lists(st.floats(0.0, 2.0), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    per_second: float, burst: int, gaps: list[float]
) -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    key, rate = uuid.uuid4(), Rate(per_second, burst)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += limiter.take(key, rate) == 0.0
    assert allowed <= burst + per_second * clock.now + 1e-9


def test_binding_admits_and_narrows() -> None:
    ann = Binding(user_id="ann")
    assert ann.bound and not UNBOUND.bound
    assert ann.admits("ann", None) and ann.admits("ann", "any")
    assert not ann.admits("bob", None) and not ann.admits(None, None)
    assert UNBOUND.admits(None, None) and UNBOUND.narrow("bob", None) == ("bob", None)
    assert ann.narrow(None, "coach") == ("ann", "coach")
    assert ann.narrow("ann", None) == ("ann", None)
    both = Binding(user_id="ann", agent_id="coach")
    assert both.narrow(None, None) == ("ann", "coach")
    with pytest.raises(Forbidden):
        ann.narrow("bob", None)
    with pytest.raises(Forbidden):
        both.narrow("ann", "planner")


def test_key_cache_invalidates_one_key_or_a_tenant() -> None:
    cache = PrincipalCache()
    acme, globex = uuid.uuid4(), uuid.uuid4()
    keys = {
        "a1": Principal(tenant_id=acme, tenant_name="acme", key_id=uuid.uuid4()),
        "a2": Principal(tenant_id=acme, tenant_name="acme", key_id=uuid.uuid4()),
        "g1": Principal(tenant_id=globex, tenant_name="globex", key_id=uuid.uuid4()),
    }
    for digest, principal in keys.items():
        cache.put(digest, principal)
    cache.invalidate(keys["a1"].key_id)
    assert cache.get("a1") is None and cache.get("a2") == keys["a2"]
    cache.invalidate_tenant(acme)
    assert cache.get("a2") is None and cache.get("g1") == keys["g1"]
