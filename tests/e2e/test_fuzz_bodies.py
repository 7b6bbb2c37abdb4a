"""Arbitrary JSON bodies (NaN, Infinity, huge integers, NUL characters, wrong types, nesting)
for every write and for search: never a 5xx, and a rejected body leaves the database as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine

from tests.helpers import database_fingerprint

NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "0001-01-01T00:00:00+14:00", "2024-05-01T12:00:00Z", "0.5"]
)
NASTY_NUMBERS = st.sampled_from(
    [float("nan"), float("inf"), float("-inf"), 2**64, -(2**63) - 1, 10**30, 0, 1, 0.5, True]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | NASTY_NUMBERS
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | NASTY_TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6) | NASTY_TEXT, inner, max_size=3)
    ),
    max_leaves=10,
)
OBJECTS = st.dictionaries(st.text(max_size=6) | NASTY_TEXT, VALUES, max_size=4)
TEXTS = st.text(max_size=20) | NASTY_TEXT | st.text(max_size=5).map(lambda t: t + "\x00")
# what each field is most likely to break on, besides anything at all
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "content": TEXTS,
    "query": TEXTS,
    "user_id": TEXTS,
    "agent_id": TEXTS,
    "session_id": TEXTS,
    "metadata": OBJECTS,
    "filters": OBJECTS,
    "weights": OBJECTS,
    "occurred_at": NASTY_TEXT | NASTY_NUMBERS,
    "reference_time": NASTY_TEXT | NASTY_NUMBERS,
    "importance": NASTY_NUMBERS,
    "limit": NASTY_NUMBERS,
    "version": NASTY_NUMBERS,
    "pinned": NASTY_NUMBERS,
    "explain": NASTY_NUMBERS,
}
MEMORY_FIELDS = [
    "content",
    "user_id",
    "agent_id",
    "session_id",
    "metadata",
    "occurred_at",
    "importance",
    "pinned",
    "colour",
]
SEARCH_FIELDS = [
    "query",
    "user_id",
    "filters",
    "limit",
    "reference_time",
    "channels",
    "weights",
    "explain",
]


def _field(name: str) -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(st.just(name), FIELD_VALUES.get(name, VALUES) | VALUES)


def _mutated(base: dict[str, Any], fields: list[str]) -> st.SearchStrategy[Any]:
    """A valid body with up to three fields replaced by anything, or anything at all."""
    overrides = st.lists(st.sampled_from(fields).flatmap(_field), max_size=3).map(dict)
    return overrides.map(lambda o: {**base, **o}) | VALUES


MEMORY = _mutated({"content": "fuzzed memory"}, MEMORY_FIELDS)
BODIES = st.one_of(
    st.tuples(st.just("POST"), st.just("/v1/memories"), MEMORY),
    st.tuples(
        st.just("POST"),
        st.just("/v1/memories/batch"),
        st.lists(MEMORY, max_size=3).map(lambda items: {"memories": items}) | VALUES,
    ),
    st.tuples(st.just("PATCH"), st.just("SEED"), _mutated({}, [*MEMORY_FIELDS, "version"])),
    st.tuples(st.just("POST"), st.just("/v1/search"), _mutated({"query": "tea"}, SEARCH_FIELDS)),
)


@pytest.fixture
def engine(client: TestClient) -> Iterator[Engine]:
    engine = create_engine(client.database_url)  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


def _snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row counts and a content hash of every table."""
    return database_fingerprint(engine)


def test_arbitrary_bodies_never_5xx_and_rejections_write_nothing(
    client: TestClient, headers: dict[str, str], engine: Engine
) -> None:
    seeded = client.post("/v1/memories", json={"content": "green tea"}, headers=headers)
    target = f"/v1/memories/{seeded.json()['id']}"
    seen: dict[str, int] = {}
    known: list[dict[str, tuple[int, str]]] = []  # the fingerprint, while nothing was stored

    @given(request=BODIES)
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(20261201)
    def run(request: tuple[str, str, Any]) -> None:
        method, path, body = request
        path = target if path == "SEED" else path
        before = known.pop() if known else _snapshot(engine)
        response = client.request(
            method,
            path,
            content=json.dumps(body, allow_nan=True).encode(),
            headers={**headers, "content-type": "application/json"},
        )
        assert response.status_code < 500, (method, path, body, response.text)
        kind = f"{method} {path if path != target else 'PATCH'} {response.status_code // 100}xx"
        seen[kind] = seen.get(kind, 0) + 1
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert _snapshot(engine) == before, (method, path, body)
            known.append(before)  # unchanged: the next request's "before"
        else:  # what was stored never breaks a metadata-filtered list of the tenant
            listed = client.get("/v1/memories", params={"metadata": '{"k": 1}'}, headers=headers)
            assert listed.status_code == 200, (method, path, body, listed.text)

    run()
    # both outcomes were exercised: some bodies stored, many rejected
    assert any(k.endswith("2xx") for k in seen) and any(k.endswith("4xx") for k in seen), seen
