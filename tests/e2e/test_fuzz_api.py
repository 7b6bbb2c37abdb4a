"""Schemathesis against the in-process app, from the app's own ``/openapi.json``.

Every operation gets seeded, bounded positive (schema-valid) and negative (schema-invalid)
requests, and every answer is checked: never a 5xx, the database unchanged after a 4xx
(row counts and a hash of every table), the body matches the documented schema
for its status, the status is documented, and so is the content type. A client generated
strictly from the document therefore works against the server. The tenant key drives the
memory API; the admin key drives ``/v1/admin``.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from sqlalchemy import create_engine

from tests.helpers import ADMIN_KEY, auth, database_fingerprint

SEED = 20261201
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
# (valid, invalid) examples per operation: bounded, so a run stays well under two minutes
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}
# the import endpoint takes JSON Lines as raw bytes
schemathesis.serializer.alias("application/x-ndjson", "application/octet-stream")


def _operations(client: TestClient, *, admin: bool) -> list[Any]:
    document = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path.startswith("/v1/admin") == admin]


def _fuzz(client: TestClient, headers: dict[str, str], operations: list[Any]) -> int:
    """Every answer checked against the document; after every 4xx the database is as it was."""
    calls = 0
    engine = create_engine(client.database_url)  # type: ignore[attr-defined]
    known: list[dict[str, tuple[int, str]]] = []  # the fingerprint, while nothing was stored
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # report the first failure, no shrinking
                suppress_health_check=list(HealthCheck),
            )
            @seed(SEED)
            def run(case: Any) -> None:
                nonlocal calls
                kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
                kwargs.pop("cookies", None)
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")
                before = known.pop() if known else database_fingerprint(engine)
                response = client.request(**kwargs)
                calls += 1
                case.validate_response(response, checks=CHECKS)
                if 400 <= response.status_code < 500:
                    assert database_fingerprint(engine) == before, (case.method, case.path)
                    known.append(before)  # unchanged: the next request's "before"

            try:
                run()
            except Unsatisfiable:
                # nothing to break in this operation's schema (e.g. no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    engine.dispose()
    return calls


def _seed_memories(client: TestClient, headers: dict[str, str]) -> None:
    """A few real rows, so listing and search answer with full memories (nulls included)."""
    body = {
        "memories": [
            {"content": "Ann moved to Lisbon in May", "metadata": {"speaker": "Ann", "n": 1}},
            {"content": "Bob likes green tea", "user_id": "bob", "pinned": True},
            {"content": "The meeting is on Friday", "occurred_at": "2024-05-03T10:00:00Z"},
        ]
    }
    assert client.post("/v1/memories/batch", json=body, headers=headers).status_code == 201


def test_memory_api_conforms_to_its_openapi(client: TestClient, headers: dict[str, str]) -> None:
    _seed_memories(client, headers)
    operations = _operations(client, admin=False)
    assert {op.label for op in operations} >= {"POST /v1/memories", "POST /v1/search"}
    assert _fuzz(client, headers, operations) > 0


def test_admin_api_conforms_to_its_openapi(client: TestClient, headers: dict[str, str]) -> None:
    _seed_memories(client, headers)
    operations = _operations(client, admin=True)
    assert {op.label for op in operations} >= {"GET /v1/admin/stats", "POST /v1/admin/tenants"}
    assert _fuzz(client, auth(ADMIN_KEY), operations) > 0


@pytest.mark.parametrize("path", ["/v1/memories", "/v1/search", "/v1/admin/stats"])
def test_every_problem_status_is_documented_as_problem_json(client: TestClient, path: str) -> None:
    document = client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    for operation in document["paths"][path].values():
        for status in ("400", "401", "404", "413", "422", "429"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"]
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
