"""Every input a client can get wrong: a 4xx problem+json, and the database unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from storage.models import Memory, MemoryEvent

DEEP: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}
BIG_META = {"blob": "x" * 20_000}
MISSING = uuid.uuid4()

CASES: list[tuple[str, str, str, Any]] = [
    # (name, method, path, json body or raw bytes)
    ("empty content", "POST", "/v1/memories", {"content": ""}),
    ("blank content", "POST", "/v1/memories", {"content": "   \n"}),
    ("oversized content", "POST", "/v1/memories", {"content": "x" * 40_000}),
    ("nul in content", "POST", "/v1/memories", {"content": "a\x00b"}),
    ("missing content", "POST", "/v1/memories", {"user_id": "u"}),
    ("wrong type", "POST", "/v1/memories", {"content": 42}),
    ("unknown field", "POST", "/v1/memories", {"content": "ok", "colour": "red"}),
    ("importance out of range", "POST", "/v1/memories", {"content": "ok", "importance": 3}),
    ("bad occurred_at", "POST", "/v1/memories", {"content": "ok", "occurred_at": "yesterday"}),
    ("metadata not an object", "POST", "/v1/memories", {"content": "ok", "metadata": [1, 2]}),
    ("metadata too deep", "POST", "/v1/memories", {"content": "ok", "metadata": DEEP}),
    ("metadata too big", "POST", "/v1/memories", {"content": "ok", "metadata": BIG_META}),
    ("malformed json", "POST", "/v1/memories", b'{"content": "ok",'),
    ("not json at all", "POST", "/v1/memories", b"\xff\xfe garbage"),
    ("json array body", "POST", "/v1/memories", [1, 2, 3]),
    ("empty batch", "POST", "/v1/memories/batch", {"memories": []}),
    ("batch over limit", "POST", "/v1/memories/batch", {"memories": [{"content": "m"}] * 501}),
    (
        "batch with one bad",
        "POST",
        "/v1/memories/batch",
        {"memories": [{"content": "ok"}, {"content": 1}]},
    ),
    ("bad uuid get", "GET", "/v1/memories/not-a-uuid", None),
    ("bad uuid patch", "PATCH", "/v1/memories/123", {"pinned": True}),
    ("bad uuid delete", "DELETE", "/v1/memories/zzz", None),
    ("unknown id get", "GET", f"/v1/memories/{MISSING}", None),
    ("unknown id patch", "PATCH", f"/v1/memories/{MISSING}", {"pinned": True}),
    ("unknown id delete", "DELETE", f"/v1/memories/{MISSING}", None),
    ("unknown id history", "GET", f"/v1/memories/{MISSING}/history", None),
    ("bad cursor", "GET", "/v1/memories?cursor=not-a-cursor", None),
    ("forged cursor", "GET", "/v1/memories?cursor=WyJ4IiwgInkiXQ", None),
    ("list limit too big", "GET", "/v1/memories?limit=1000", None),
    ("list limit zero", "GET", "/v1/memories?limit=0", None),
    ("list bad metadata", "GET", "/v1/memories?metadata={oops", None),
    ("list bad date", "GET", "/v1/memories?occurred_after=soon", None),
    ("search empty query", "POST", "/v1/search", {"query": ""}),
    ("search blank query", "POST", "/v1/search", {"query": "  "}),
    ("search limit too big", "POST", "/v1/search", {"query": "q", "limit": 101}),
    ("search limit zero", "POST", "/v1/search", {"query": "q", "limit": 0}),
    ("search unknown channel", "POST", "/v1/search", {"query": "q", "channels": ["psychic"]}),
    ("search empty channels", "POST", "/v1/search", {"query": "q", "channels": []}),
    ("search bad reference_time", "POST", "/v1/search", {"query": "q", "reference_time": "x"}),
    ("search bad filter value", "POST", "/v1/search", {"query": "q", "filters": {"a": [1]}}),
    ("search negative weight", "POST", "/v1/search", {"query": "q", "weights": {"semantic": -1}}),
    ("patch null content", "PATCH", "PLACEHOLDER", {"content": None}),
    ("patch empty content", "PATCH", "PLACEHOLDER", {"content": ""}),
    ("patch bad version", "PATCH", "PLACEHOLDER", {"pinned": True, "version": 0}),
    ("patch stale version", "PATCH", "PLACEHOLDER", {"pinned": True, "version": 99}),
    ("wrong method", "PUT", "/v1/memories", {"content": "x"}),
    ("unknown route", "GET", "/v1/nothing-here", None),
]


def _counts(url: str) -> tuple[int, int, list[tuple[str, int, bool]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            memories = conn.scalar(select(func.count()).select_from(Memory))
            events = conn.scalar(select(func.count()).select_from(MemoryEvent))
            rows = conn.execute(select(Memory.content, Memory.version, Memory.pinned)).all()
        return int(memories or 0), int(events or 0), sorted((r[0], r[1], r[2]) for r in rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "method", "path", "body"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_problem_and_changes_nothing(
    client: TestClient, headers: dict[str, str], name: str, method: str, path: str, body: Any
) -> None:
    seed = client.post("/v1/memories", json={"content": "seed memory"}, headers=headers).json()
    if path == "PLACEHOLDER":
        path = f"/v1/memories/{seed['id']}"
    before = _counts(client.database_url)  # type: ignore[attr-defined]
    kwargs: dict[str, Any] = {"headers": {**headers}}
    if isinstance(body, bytes):
        kwargs["content"] = body
        kwargs["headers"]["content-type"] = "application/json"
    elif body is not None:
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["type"].startswith("https://") and problem["title"] and problem["detail"]
    assert _counts(client.database_url) == before  # type: ignore[attr-defined]


def test_oversized_body_is_413(client: TestClient, headers: dict[str, str]) -> None:
    blob = b'{"content": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = client.post(
        "/v1/memories", content=blob, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413
