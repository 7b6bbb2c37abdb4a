"""Prometheus metrics (``GET /metrics``) and the rolling window of channel timings.

Every app holds its own ``CollectorRegistry`` in its state (``AppState.metrics``, built in
``build_state``), never the process-global one, so several apps in one process (the tests) never clash.
The exposition carries no secrets and no tenant data: only route templates, channel and
tier names, and counts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.registry import channel_names
from storage.repositories.admin import AdminRepository

WINDOW = 1000
"""How many recent searches the admin overview's channel latencies are computed over."""
HEALTH_WINDOW = 10
"""A channel is unhealthy if any of its last this-many searches failed or ran late."""
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _MemoryCollector(Collector):
    """``mnemonix_memories{tier}``, counted in SQL at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("mnemonix_memories", "Stored memories by tier.", labels=["tier"])

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()  # registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = self._family()
        with self._sessions() as session:
            for tier, n in AdminRepository(session).count_by_tier():
                gauge.add_metric([tier], n)
        yield gauge


class ChannelWindow:
    """The last ``WINDOW`` searches' per-channel timings, and which channels went missing."""

    def __init__(self, size: int = WINDOW) -> None:
        self._searches: deque[tuple[dict[str, float], frozenset[str]]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, timings_ms: Mapping[str, float], missing: Iterable[str]) -> None:
        with self._lock:
            self._searches.append((dict(timings_ms), frozenset(missing)))

    def summary(self, channels: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Per channel: searches, failures, p50/p95 in ms (``None`` before any), healthy."""
        with self._lock:
            searches = list(self._searches)
        out: dict[str, dict[str, Any]] = {}
        for name in channels:
            used = [
                (t.get(name), name in gone) for t, gone in searches if name in t or name in gone
            ]
            times = sorted(t for t, _ in used if t is not None)
            out[name] = {
                "healthy": not any(failed for _, failed in used[-HEALTH_WINDOW:]),
                "p50_ms": _percentile(times, 0.50),
                "p95_ms": _percentile(times, 0.95),
                "searches": len(used),
                "failures": sum(1 for _, failed in used if failed),
            }
        return out


def _percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return round(ordered[index], 3)


class Metrics:
    def __init__(self, sessions: sessionmaker[Session] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.window = ChannelWindow()
        self.http = Histogram(
            "mnemonix_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.channel = Histogram(
            "mnemonix_channel_search_duration_seconds",
            "Time one retrieval channel took to answer a search.",
            ["channel"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.channel_failures = Counter(
            "mnemonix_channel_search_failures_total",
            "Searches in which a channel failed or ran over its budget.",
            ["channel"],
            registry=self.registry,
        )
        self.lifecycle_runs = Counter(
            "mnemonix_lifecycle_runs_total",
            "Lifecycle runs by final status.",
            ["status"],
            registry=self.registry,
        )
        self.lifecycle_moves = Counter(
            "mnemonix_lifecycle_memories_moved_total",
            "Memories a lifecycle run moved between tiers.",
            ["from_tier", "to_tier"],
            registry=self.registry,
        )
        self.lifecycle_expired = Counter(
            "mnemonix_lifecycle_memories_expired_total",
            "Expired memories a lifecycle run erased.",
            registry=self.registry,
        )
        self.secrets = Counter(
            "mnemonix_secrets_found_total",
            "Credentials (and PII) found in writes, by kind and what the policy did.",
            ["kind", "action"],
            registry=self.registry,
        )
        if sessions is not None:
            self.registry.register(_MemoryCollector(sessions))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def record_search(
    metrics: Metrics, *, timings_ms: Mapping[str, float], missing: Iterable[str]
) -> None:
    """Called once per search with the engine's per-channel timings (ms)."""
    gone = list(missing)
    known = set(channel_names())  # not a query part's or a feedback pass's extra run
    channel_times = {k: v for k, v in timings_ms.items() if k in known}
    metrics.window.record(channel_times, gone)
    for name, ms in channel_times.items():
        metrics.channel.labels(channel=name).observe(ms / 1000.0)
    for name in gone:
        metrics.channel_failures.labels(channel=name).inc()


def record_lifecycle_run(metrics: Metrics, report: Mapping[str, Any]) -> None:
    """Count one finished lifecycle run: ``report["status"]`` and ``report["moves"]``
    (``{"hot->warm": n, ...}``)."""
    metrics.lifecycle_runs.labels(status=str(report.get("status", "completed"))).inc()
    for move, n in (report.get("moves") or {}).items():
        source, _, dest = str(move).partition("->")
        if dest and int(n) > 0:
            metrics.lifecycle_moves.labels(from_tier=source, to_tier=dest).inc(int(n))
    if int(report.get("expired", 0) or 0) > 0:
        metrics.lifecycle_expired.inc(int(report["expired"]))


def record_secrets(metrics: Metrics, kinds: Iterable[str], *, action: str) -> None:
    """Count the kinds found in one write (``redacted`` or ``rejected``); never a value."""
    for kind in kinds:
        metrics.secrets.labels(kind=kind, action=action).inc()


class _TimingMiddleware:
    """Times every HTTP request under its route template (``/v1/memories/{memory_id}``),
    never the raw path, so label cardinality stays bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # before start-up finishes there is no state (and nothing to record it in)
            metrics = getattr(getattr(scope["app"].state, "mnemonix", None), "metrics", None)
            if isinstance(metrics, Metrics):
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                metrics.http.labels(
                    method=scope["method"], route=route, status=str(status)
                ).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    """Add the request-timing middleware and ``GET /metrics`` (no auth, like ``/healthz``)."""
    app.add_middleware(_TimingMiddleware)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        metrics: Metrics = request.app.state.mnemonix.metrics
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
