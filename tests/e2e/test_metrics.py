"""``GET /metrics``: Prometheus text, per-app registry, route templates, no secrets."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.metrics import record_lifecycle_run
from tests.helpers import ADMIN_KEY, auth, test_settings


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics(client: TestClient, key: str, headers: dict[str, str]) -> None:
    created = client.post(
        "/v1/memories", json={"content": "Secret plans for Tuesday"}, headers=headers
    )
    memory_id = created.json()["id"]
    for _ in range(2):
        client.get(f"/v1/memories/{memory_id}", headers=headers)
    client.post("/v1/search", json={"query": "plans"}, headers=headers)
    client.get("/v1/no-such-route")
    metrics = client.app.state.mnemonix.metrics  # type: ignore[attr-defined]
    record_lifecycle_run(
        metrics, {"status": "completed", "moves": {"hot->warm": 3, "warm->cold": 1}}
    )
    record_lifecycle_run(metrics, {"status": "failed", "moves": {}})

    samples = _samples(client)
    route = frozenset({("method", "GET"), ("route", "/v1/memories/{memory_id}"), ("status", "200")})
    assert samples[("mnemonix_http_request_duration_seconds_count", route)] == 2
    unmatched = frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")})
    assert samples[("mnemonix_http_request_duration_seconds_count", unmatched)] == 1
    for channel in ("semantic", "keyword", "temporal", "graph"):
        labels = frozenset({("channel", channel)})
        assert samples[("mnemonix_channel_search_duration_seconds_count", labels)] == 1
    assert samples[("mnemonix_lifecycle_runs_total", frozenset({("status", "completed")}))] == 1
    assert samples[("mnemonix_lifecycle_runs_total", frozenset({("status", "failed")}))] == 1
    moved = frozenset({("from_tier", "hot"), ("to_tier", "warm")})
    assert samples[("mnemonix_lifecycle_memories_moved_total", moved)] == 3
    assert samples[("mnemonix_memories", frozenset({("tier", "hot")}))] == 1

    text = client.get("/metrics").text
    for secret in (key, ADMIN_KEY, memory_id, "Secret plans", "acme"):
        assert secret not in text


def test_each_app_has_its_own_registry(database_url: str, tmp_path: Path) -> None:
    first = TestClient(create_app(test_settings(database_url, tmp_path)))
    second = TestClient(create_app(test_settings(database_url, tmp_path)))
    with first, second:
        for _ in range(3):
            first.get("/healthz")
        second.get("/healthz")
        labels = frozenset({("method", "GET"), ("route", "/healthz"), ("status", "200")})
        assert _samples(first)[("mnemonix_http_request_duration_seconds_count", labels)] == 3
        assert _samples(second)[("mnemonix_http_request_duration_seconds_count", labels)] == 1
        assert first.get("/v1/admin/stats", headers=auth(ADMIN_KEY)).status_code == 200
