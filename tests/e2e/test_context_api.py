"""``POST /v1/context`` and ``max_tokens`` on search, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.context.tokens import token_counter
from service.validation import NOT_BLANK_RE
from tests.helpers import ADMIN_KEY, auth

COUNTER = token_counter()
TOPICS = ["hiking", "the billing service", "peanut allergy", "Lisbon", "café 🙂 東京", "chess"]


def _seed(client: TestClient, headers: dict[str, str], n: int) -> None:
    memories = [
        {
            "content": f"Turn {i}: talked about {TOPICS[i % len(TOPICS)]} "
            + "and more details " * (i % 13),
            "session_id": f"s{i % 7}",
            "user_id": "ann",
            "metadata": {"speaker": "Ann" if i % 2 else "Bob"},
            "occurred_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        }
        for i in range(n)
    ]
    for start in range(0, n, 500):
        response = client.post(
            "/v1/memories/batch", json={"memories": memories[start : start + 500]}, headers=headers
        )
        assert response.status_code == 201, response.text


def _context(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = client.post("/v1/context", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_the_budget_holds_over_a_thousand_memories(
    client: TestClient, headers: dict[str, str]
) -> None:
    _seed(client, headers, 1000)

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        budget=st.one_of(st.just(200), st.integers(1, 1500)),
        query=st.sampled_from(TOPICS)
        | st.text(min_size=1, max_size=40).filter(lambda q: bool(NOT_BLANK_RE.match(q))),
        fmt=st.sampled_from(["text", "markdown", "json"]),
        candidates=st.integers(1, 100),
    )
    def check(budget: int, query: str, fmt: str, candidates: int) -> None:
        result = _context(
            client,
            headers,
            query=query,
            max_tokens=budget,
            format=fmt,
            candidates=candidates,
            user_id="ann",
        )
        block = str(result["context"])
        assert COUNTER.count(block) == result["tokens"] <= budget
        ids = result["memory_ids"]
        assert isinstance(ids, list) and len(set(ids)) == len(ids) <= candidates
        if fmt == "json" and ids:
            assert len(json.loads(block)) == len(ids)

    check()
    top = _context(client, headers, query="peanut allergy", max_tokens=200)
    assert top["tokens"] and "peanut allergy" in str(top["context"])
    assert "Session s" in str(top["context"]) and "] Bob: Turn" in str(top["context"])


def _adder(client: TestClient, headers: dict[str, str]) -> Callable[[str, str], str]:
    """Store a memory of user u1 at a time; its id."""

    def add(content: str, occurred_at: str) -> str:
        response = client.post(
            "/v1/memories",
            json={"content": content, "user_id": "u1", "occurred_at": occurred_at},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return add


def test_superseded_memories_stay_out(client: TestClient, headers: dict[str, str]) -> None:
    """Supersession on (the default): the newer fact replaces the older at write time, and
    the block holds only what is current."""

    add = _adder(client, headers)
    add("My favorite restaurant is Chez Panisse.", "2024-01-01T00:00:00Z")
    new = add("My favorite restaurant is Nopa now.", "2025-01-01T00:00:00Z")
    result = _context(client, headers, query="favorite restaurant", max_tokens=300, user_id="u1")
    assert result["memory_ids"] == [new]
    assert "Chez Panisse" not in str(result["context"])


def test_duplicates_and_contradictions(client: TestClient, headers: dict[str, str]) -> None:
    """Supersession off: the lifecycle only flags the contradiction, and the block marks the
    newer memory current and the older outdated."""
    policy = client.put(
        "/v1/admin/tenants/acme/lifecycle-policy",
        json={"supersession": False},
        headers=auth(ADMIN_KEY),
    )
    assert policy.status_code == 200

    add = _adder(client, headers)
    old = add("My favorite restaurant is Chez Panisse.", "2024-01-01T00:00:00Z")
    new = add("My favorite restaurant is Nopa now.", "2025-01-01T00:00:00Z")
    run = client.post("/v1/admin/lifecycle/runs", json={}, headers=auth(ADMIN_KEY))
    assert run.status_code == 201 and run.json()["contradictions"] == 1
    add("my favorite restaurant is NOPA now", "2025-02-01T00:00:00Z")  # a duplicate of `new`

    result = _context(client, headers, query="favorite restaurant", max_tokens=300, user_id="u1")
    lines = str(result["context"]).splitlines()
    assert lines == [
        "2024-01-01:",
        "[2024-01-01 00:00] u1: My favorite restaurant is Chez Panisse. (outdated)",
        "",
        "2025-01-01:",
        "[2025-01-01 00:00] u1: My favorite restaurant is Nopa now. (current)",
    ]
    assert set(result["memory_ids"]) == {old, new}  # type: ignore[arg-type]
    assert result["omitted"] == {"duplicates": 1, "superseded": 0, "over_budget": 0}
    assert result["tokenizer"].startswith("all-MiniLM-L6-v2 WordPiece")  # type: ignore[union-attr]


def test_search_max_tokens(client: TestClient, headers: dict[str, str]) -> None:
    _seed(client, headers, 60)
    full = client.post("/v1/search", json={"query": "hiking", "limit": 20}, headers=headers)
    assert full.json()["tokens"] is None
    for budget in (1, 30, 120):
        response = client.post(
            "/v1/search",
            json={"query": "hiking", "limit": 20, "max_tokens": budget},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        contents = [hit["memory"]["content"] for hit in body["results"]]
        assert sum(COUNTER.count_many(contents)) == body["tokens"] <= budget
        ranked = [hit["memory"]["id"] for hit in full.json()["results"]]
        kept = [hit["memory"]["id"] for hit in body["results"]]
        assert kept == [i for i in ranked if i in kept]  # still in rank order


BAD_BODIES = [
    {"query": "x"},
    {"query": "x", "max_tokens": 0},
    {"query": "x", "max_tokens": "10"},
    {"query": "x", "max_tokens": 10, "format": "xml"},
    {"query": " ", "max_tokens": 10},
    {"query": "x", "max_tokens": 10, "candidates": 101},
    {"query": "x", "max_tokens": 10, "surprise": 1},
]


def test_bad_context_requests(client: TestClient, headers: dict[str, str]) -> None:
    for body in BAD_BODIES:
        response = client.post("/v1/context", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/context", json={"query": "x", "max_tokens": 5}).status_code == 401
    bad = client.post("/v1/search", json={"query": "x", "max_tokens": 0}, headers=headers)
    assert bad.status_code == 422
