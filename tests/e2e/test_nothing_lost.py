"""Nothing lost (property test): after any sequence of lifecycle runs (a simulated clock
running up to years ahead), retrievals, edits, deletions and new near-duplicates, every
memory that was not deleted is readable by id with identical content, and a keyword search
for a distinctive phrase of it finds it (or the consolidated memory that serves it)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.lifecycle import run_for_app
from service.state import AppState
from storage.types import utcnow
from tests.helpers import auth, create_tenant_key

WORDS = [
    "amber",
    "basil",
    "cobalt",
    "dune",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
]
_tenants = itertools.count()

Op = tuple[str, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["run", "access", "update", "delete", "duplicate"]), st.integers(0, 400)
    ),
    min_size=1,
    max_size=12,
)


def _phrase(n: int) -> str:
    return f"{WORDS[n % 10]} {WORDS[(n // 10) % 10]} token{n}"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=ops)
@example(  # merge, then edit and delete sources of the merge, then years later
    sequence=[
        ("duplicate", 0),
        ("duplicate", 3),
        ("run", 400),
        ("update", 0),
        ("delete", 3),
        ("run", 900),
    ]
)
@example(sequence=[("duplicate", 1), ("run", 5), ("duplicate", 1), ("run", 5), ("delete", 7)])
def test_nothing_is_lost_whatever_happens(client: TestClient, sequence: list[Op]) -> None:
    headers = auth(create_tenant_key(client.database_url, f"prop{next(_tenants)}"))  # type: ignore[attr-defined]
    state: AppState = client.app.state.mnemonix  # type: ignore[attr-defined]
    expected: dict[str, tuple[str, str]] = {}  # id -> (content, distinctive phrase)
    serial = itertools.count()

    def add(text_phrase: str, body: str) -> None:
        content = f"{body} The code phrase is {text_phrase}."
        r = client.post("/v1/memories", json={"content": content, "user_id": "u"}, headers=headers)
        assert r.status_code == 201, r.text
        expected[r.json()["id"]] = (content, text_phrase)

    for _ in range(6):
        n = next(serial)
        add(_phrase(n), f"Memory {WORDS[n % 10]} about the garden.")
    clock = utcnow()
    for op, arg in sequence:
        ids = sorted(expected)
        target = ids[arg % len(ids)] if ids else None
        if op == "run":
            clock += timedelta(days=arg)
            run_for_app(state, trigger="test", now=clock)  # indexes follow at once
        elif op == "access" and target:
            client.post("/v1/search", json={"query": expected[target][1]}, headers=headers)
            state.access.flush()
        elif op == "update" and target:
            n = next(serial)
            content = f"Edited memory. The code phrase is {_phrase(1000 + n)}."
            r = client.patch(f"/v1/memories/{target}", json={"content": content}, headers=headers)
            assert r.status_code == 200, r.text
            expected[target] = (content, _phrase(1000 + n))
        elif op == "delete" and target:
            assert client.delete(f"/v1/memories/{target}", headers=headers).status_code == 204
            del expected[target]
        elif op == "duplicate" and target:
            content, phrase = expected[target]
            r = client.post(
                "/v1/memories", json={"content": content + "!", "user_id": "u"}, headers=headers
            )
            expected[r.json()["id"]] = (content + "!", phrase)

    for memory_id, (content, phrase) in expected.items():
        got = client.get(f"/v1/memories/{memory_id}", headers=headers)
        assert got.status_code == 200 and got.json()["content"] == content
        servers = {memory_id}
        current = got.json()
        while current["superseded_by"]:  # the consolidated memory (and any above it) serves it
            servers.add(current["superseded_by"])
            current = client.get(f"/v1/memories/{current['superseded_by']}", headers=headers).json()
            assert phrase in current["content"]
        hits = client.post(
            "/v1/search",
            json={"query": phrase, "channels": ["keyword"], "limit": 10},
            headers=headers,
        ).json()["results"]
        assert servers & {h["memory"]["id"] for h in hits}, (content, phrase)
