"""Every input a client can get wrong: a 4xx problem+json, and the database unchanged."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, IntegrityError, StatementError

import service.admin.stats as admin_stats
import service.memories.service as memory_service
from tests.e2e.hostile import CASES as CASES_FOUND_BY_FUZZING
from tests.e2e.hostile import Hostile
from tests.helpers import ADMIN_KEY, auth, database_fingerprint

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


def _counts(url: str) -> dict[str, tuple[int, str]]:
    """Row counts and a content hash of every table (``tests.helpers.database_fingerprint``)."""
    return database_fingerprint(url)


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
    assert response.headers["connection"] == "close"  # the body is not drained


@pytest.mark.parametrize(
    "case", CASES_FOUND_BY_FUZZING, ids=[c.name for c in CASES_FOUND_BY_FUZZING]
)
def test_input_that_gave_a_500_is_a_problem_and_changes_nothing(
    client: TestClient, headers: dict[str, str], case: Hostile
) -> None:
    seed = client.post("/v1/memories", json={"content": "seed memory"}, headers=headers).json()
    path = f"/v1/memories/{seed['id']}" if case.path == "SEED" else case.path
    before = _counts(client.database_url)  # type: ignore[attr-defined]
    response = client.request(
        case.method, path, **case.request_kwargs(auth(ADMIN_KEY) if case.admin else headers)
    )
    if case.admin and response.status_code == 200:  # SQLite stores NUL, so no match at all
        assert response.json() == {"items": []} and "sqlite" in client.database_url  # type: ignore[attr-defined]
        return
    assert 400 <= response.status_code < 500, (case.name, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == response.status_code and problem["detail"]
    if not case.admin:  # a field the schema constrains: the problem names it
        assert response.status_code == 422
        named = [e["loc"] for e in problem.get("errors", [])] + [problem.get("field")]
        assert any(loc and loc.split(".")[0] in ("body", "query", "metadata") for loc in named)
    assert _counts(client.database_url) == before  # type: ignore[attr-defined]
    # the tenant still answers metadata-filtered lists (a stored NaN used to break them all)
    listed = client.get("/v1/memories", params={"metadata": '{"k": 1}'}, headers=headers)
    assert listed.status_code == 200, listed.text


def test_metadata_filters_compare_json_values_across_mixed_types(
    client: TestClient, headers: dict[str, str]
) -> None:
    # one key, many JSON types: a filter on one type never trips over the others (PostgreSQL
    # used to cast every row's value, and a string or a 33-bit number there was a 500)
    values: list[Any] = ["text", 1, 3_000_000_000, 1.5, True, False, None, [1], {"a": 1}]
    ids = {}
    for value in values:
        body = {"content": f"memory {value!r}", "metadata": {"n": value}}
        ids[json.dumps(value)] = client.post("/v1/memories", json=body, headers=headers).json()[
            "id"
        ]
    for value in ["text", 1, 3_000_000_000, 1.5, True, False, -(2**63), 2**63 - 1, "1"]:
        response = client.get(
            "/v1/memories", params={"metadata": json.dumps({"n": value})}, headers=headers
        )
        assert response.status_code == 200, (value, response.text)
        found = [item["id"] for item in response.json()["items"]]
        expected = [ids[json.dumps(value)]] if json.dumps(value) in ids else []
        assert found == expected, value
        hits = client.post(
            "/v1/search",
            json={"query": "memory", "filters": {"n": value}, "channels": ["keyword"]},
            headers=headers,
        )
        assert hits.status_code == 200, (value, hits.text)
        assert [h["memory"]["id"] for h in hits.json()["results"]] == expected, value


def test_405_names_every_allowed_method(client: TestClient, headers: dict[str, str]) -> None:
    response = client.put("/v1/memories", json={"content": "x"}, headers=headers)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed
    one = client.post(f"/v1/memories/{uuid.uuid4()}", headers=headers)
    assert one.status_code == 405
    assert {"GET", "PATCH", "DELETE"} <= {m.strip() for m in one.headers["allow"].split(",")}


def test_search_hits_carry_every_required_field_even_when_null(
    client: TestClient, headers: dict[str, str]
) -> None:
    client.post("/v1/memories", json={"content": "green tea in the morning"}, headers=headers)
    hit = client.post("/v1/search", json={"query": "green tea"}, headers=headers).json()
    memory = hit["results"][0]["memory"]
    for field in ("user_id", "agent_id", "session_id", "last_accessed_at", "superseded_by"):
        assert field in memory and memory[field] is None


def test_values_the_database_refuses_are_a_422_and_other_faults_a_500(
    client: TestClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catch-all: a DataError or overflow that slips past validation is the client's fault
    only when the request carried values; anything else stays a 500 naming nothing."""

    def refuse(*_: object, **__: object) -> None:
        raise DataError("SELECT 1", {}, ValueError("refused"))

    def overflow(*_: object, **__: object) -> None:
        raise StatementError("bind", "SELECT 1", {}, OverflowError("date value out of range"))

    def crash(*_: object, **__: object) -> None:
        raise IntegrityError("INSERT", {}, ValueError("duplicate"))

    for fault, status in ((refuse, 422), (overflow, 422), (crash, 500)):
        monkeypatch.setattr(memory_service, "list_memories", fault)
        response = client.get("/v1/memories", params={"user_id": "u"}, headers=headers)
        assert response.status_code == status, (fault.__name__, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "refused" not in response.text and "duplicate" not in response.text
        assert "out of range" not in response.text
    monkeypatch.setattr(admin_stats, "collect_stats", refuse)
    # the same DataError on a request that sent no values at all: the server's fault
    assert client.get("/v1/admin/stats", headers=auth(ADMIN_KEY)).status_code == 500
