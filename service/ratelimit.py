"""Per-key rate limits: one token bucket per API key, in this process.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request
takes one token or is refused with the time until a token is back (the 429's
``Retry-After``). This is the classic token bucket (e.g. RFC 2697's committed burst, or
Tanenbaum, *Computer Networks*, 5.4.2): ``tokens = min(burst, tokens + rate * elapsed)``.

The buckets live in memory, per process: behind N replicas a key can get N times its rate.
Holding a limit across replicas needs a shared store (Redis, or the database), not done yet.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from storage.errors import DomainError


class RateLimited(DomainError):
    """The key spent its burst; ``retry_after`` (whole seconds) goes to ``Retry-After``."""

    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int

    @classmethod
    def of(cls, per_second: float | None, burst: int | None) -> Rate | None:
        """A limit from a rate and an optional burst (default: the rate rounded up)."""
        if per_second is None or per_second <= 0:
            return None
        return cls(per_second, burst if burst is not None else max(1, math.ceil(per_second)))


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets by key id. ``take`` is O(1) under one lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, size: int = 100_000) -> None:
        self._clock = clock
        self._size = size
        self._buckets: dict[uuid.UUID, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key_id: uuid.UUID, rate: Rate) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is back."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                if len(self._buckets) >= self._size:
                    self._buckets.clear()  # full buckets everywhere: errs towards allowing
                bucket = self._buckets[key_id] = _Bucket(float(rate.burst), now)
            bucket.tokens = min(
                float(rate.burst), bucket.tokens + (now - bucket.at) * rate.per_second
            )
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate.per_second

    def check(self, key_id: uuid.UUID, rate: Rate | None) -> None:
        """``RateLimited`` when the key has no token left; nothing when it has no limit."""
        if rate is None:
            return
        wait = self.take(key_id, rate)
        if wait > 0.0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"This key is limited to {rate.per_second:g} requests per second "
                f"(burst {rate.burst}); retry in {seconds} s.",
                retry_after=seconds,
            )

    def forget(self, key_id: uuid.UUID) -> None:
        with self._lock:
            self._buckets.pop(key_id, None)
