"""Expiry: a memory leaves search, context, list, get and export at its expiry, to the second, at
read time; the lifecycle then erases it with a tombstone that holds no content. Defaults
come from the tenant's write policy. The server's clock is set by the test (``state.clock``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.helpers import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
MICRO = timedelta(microseconds=1)


@pytest.fixture
def set_clock(client: TestClient) -> Callable[[datetime], None]:
    """Fix the server's "now" for expiry (every read and write from then on)."""
    state: Any = client.app.state.mnemonix  # type: ignore[attr-defined]

    def to(moment: datetime) -> None:
        state.clock = lambda: moment

    return to


def _ids_everywhere(client: TestClient, headers: dict[str, str], query: str) -> dict[str, set[str]]:
    """Which memory ids each read serves: search (whole tenant and one user), the context
    block, list, export."""
    found: dict[str, set[str]] = {}
    for name, body in {
        "search": {"query": query, "limit": 50},
        "search_user": {"query": query, "limit": 50, "user_id": "ann"},
    }.items():
        response = client.post("/v1/search", json=body, headers=headers)
        assert response.status_code == 200, response.text
        found[name] = {hit["memory"]["id"] for hit in response.json()["results"]}
    context = client.post("/v1/context", json={"query": query, "max_tokens": 2000}, headers=headers)
    assert context.status_code == 200, context.text
    found["context"] = set(context.json()["memory_ids"])
    listed = client.get("/v1/memories", params={"limit": 100}, headers=headers)
    found["list"] = {m["id"] for m in listed.json()["items"]}
    listed_user = client.get("/v1/memories", params={"user_id": "ann"}, headers=headers)
    found["list_user"] = {m["id"] for m in listed_user.json()["items"]}
    export = client.get("/v1/admin/tenants/acme/export", headers=ADMIN)
    assert export.status_code == 200, export.text
    lines = [line for line in export.text.splitlines() if '"type":"end"' not in line]
    found["export"] = {line.split('"id":"')[1].split('"')[0] for line in lines}
    return found


def test_expiry_to_the_second_everywhere(
    client: TestClient, headers: dict[str, str], set_clock: Callable[[datetime], None]
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    set_clock(t0)
    short = client.post(
        "/v1/memories",
        json={"content": "the gate code is on the fridge", "user_id": "ann", "ttl_seconds": 60},
        headers=headers,
    ).json()
    assert short["expires_at"].startswith(
        (t0 + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S")
    )
    at = (t0 + timedelta(seconds=120)).isoformat()
    later = client.post(
        "/v1/memories/batch",
        json={
            "memories": [
                {"content": "the gate code changes monthly", "user_id": "ann", "expires_at": at}
            ]
        },
        headers=headers,
    ).json()["memories"][0]
    lasting = client.post(
        "/v1/memories",
        json={"content": "the gate is painted green", "user_id": "ann"},
        headers=headers,
    ).json()
    assert lasting["expires_at"] is None
    everyone = {short["id"], later["id"], lasting["id"]}

    set_clock(t0 + timedelta(seconds=60) - MICRO)  # the last instant it lives
    assert all(ids == everyone for ids in _ids_everywhere(client, headers, "gate code").values())
    assert client.get(f"/v1/memories/{short['id']}", headers=headers).status_code == 200

    set_clock(t0 + timedelta(seconds=60))  # expired: gone from every read at once
    seen = _ids_everywhere(client, headers, "gate code")
    assert all(ids == {later["id"], lasting["id"]} for ids in seen.values()), seen
    assert client.get(f"/v1/memories/{short['id']}", headers=headers).status_code == 404
    assert client.get(f"/v1/memories/{short['id']}/links", headers=headers).status_code == 404
    patched = client.patch(f"/v1/memories/{short['id']}", json={"pinned": True}, headers=headers)
    assert patched.status_code == 404
    events = client.get(f"/v1/memories/{short['id']}/history", headers=headers).json()["events"]
    assert [e["changes"] for e in events] == [{}]  # the history shows no content either

    set_clock(t0 + timedelta(seconds=120))
    seen = _ids_everywhere(client, headers, "gate code")
    assert all(ids == {lasting["id"]} for ids in seen.values()), seen


def test_the_lifecycle_erases_expired_memories_leaving_a_tombstone(
    client: TestClient, headers: dict[str, str], set_clock: Callable[[datetime], None]
) -> None:
    t0 = datetime.now(UTC)
    set_clock(t0)
    gone = client.post(
        "/v1/memories",
        json={"content": "parking spot 42 this week", "ttl_seconds": 5},
        headers=headers,
    ).json()
    kept = client.post(
        "/v1/memories",
        json={"content": "parking permit renewed", "ttl_seconds": 3600},
        headers=headers,
    ).json()
    set_clock(t0 + timedelta(seconds=10))
    dry = client.post("/v1/admin/lifecycle/runs", json={"dry_run": True}, headers=ADMIN).json()
    assert dry["expired"] == 1
    run = client.post("/v1/admin/lifecycle/runs", json={}, headers=ADMIN).json()
    assert run["status"] == "completed" and run["expired"] == 1
    assert "mnemonix_lifecycle_memories_expired_total 1.0" in client.get("/metrics").text

    engine = create_engine(client.database_url)  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id FROM memory")).scalars().all()
        events = connection.execute(
            text("SELECT event, changes FROM memory_event ORDER BY id")
        ).all()
    engine.dispose()
    assert len(rows) == 1  # only the one still alive; its id format varies by backend
    assert not any("parking spot" in str(changes) for _, changes in events)
    history = client.get(f"/v1/memories/{gone['id']}/history", headers=headers).json()["events"]
    assert [(e["event"], e["changes"], e["actor"]) for e in history] == [
        ("created", {}, "api"),
        ("deleted", {"reason": "expired"}, "lifecycle"),
    ]
    assert client.get(f"/v1/memories/{kept['id']}", headers=headers).status_code == 200
    state: Any = client.app.state.mnemonix  # type: ignore[attr-defined]
    tenant_engine = next(iter(state.indexes.engines().values()))
    assert len(tenant_engine) == 1  # out of the indexes too


def test_expiry_input_rules(
    client: TestClient, headers: dict[str, str], set_clock: Callable[[datetime], None]
) -> None:
    t0 = datetime.now(UTC)
    set_clock(t0)
    future = (t0 + timedelta(hours=1)).isoformat()
    both = client.post(
        "/v1/memories",
        json={"content": "x", "expires_at": future, "ttl_seconds": 5},
        headers=headers,
    )
    assert both.status_code == 422 and "mutually exclusive" in both.text
    for bad in (
        {"ttl_seconds": 0},
        {"ttl_seconds": -1},
        {"ttl_seconds": "5"},
        {"expires_at": "soon"},
    ):
        response = client.post("/v1/memories", json={"content": "x", **bad}, headers=headers)
        assert response.status_code == 422, bad
    past = client.post(
        "/v1/memories/batch",
        json={"memories": [{"content": "a"}, {"content": "b", "expires_at": t0.isoformat()}]},
        headers=headers,
    )
    assert past.status_code == 422 and past.json()["field"] == "memories.1.expires_at"
    assert client.get("/v1/memories", headers=headers).json()["items"] == []  # nothing stored

    memory = client.post("/v1/memories", json={"content": "note"}, headers=headers).json()
    url = f"/v1/memories/{memory['id']}"
    set_ttl = client.patch(url, json={"ttl_seconds": 30}, headers=headers).json()
    assert set_ttl["expires_at"] is not None and set_ttl["version"] == 2
    cleared = client.patch(url, json={"expires_at": None}, headers=headers).json()
    assert cleared["expires_at"] is None
    history = client.get(f"{url}/history", headers=headers).json()["events"]
    assert "expires_at" in history[-1]["changes"]
    both_patch = client.patch(url, json={"expires_at": future, "ttl_seconds": 3}, headers=headers)
    assert both_patch.status_code == 422
    assert client.patch(url, json={"pinned": None}, headers=headers).status_code == 422


def test_default_ttls_from_the_write_policy(
    client: TestClient, headers: dict[str, str], set_clock: Callable[[datetime], None]
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    set_clock(t0)
    policy = {
        "default_ttl_seconds": {"session": 600, "user": 86400},
        "tag_ttl": [
            {"key": "kind", "value": "scratch", "ttl_seconds": 60},
            {"key": "kind", "value": "scratch", "ttl_seconds": 30},
        ],
    }
    put = client.put("/v1/admin/tenants/acme/write-policy", json=policy, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert (
        client.get("/v1/admin/tenants/acme/write-policy", headers=ADMIN).json()["secrets"]
        == "redact"
    )
    bad = client.put(
        "/v1/admin/tenants/acme/write-policy",
        json={"default_ttl_seconds": {"team": 5}},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert (
        client.put("/v1/admin/tenants/nobody/write-policy", json={}, headers=ADMIN).status_code
        == 404
    )
    assert client.get("/v1/admin/tenants/acme/write-policy", headers=headers).status_code == 403

    def expiry(**body: Any) -> str | None:
        created = client.post("/v1/memories", json={"content": "c", **body}, headers=headers)
        assert created.status_code == 201, created.text
        value: str | None = created.json()["expires_at"]
        return value

    def after(seconds: int) -> str:
        return (t0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")

    assert expiry() is None  # no scope, no tag: never
    assert expiry(user_id="ann").startswith(after(86400))
    assert expiry(user_id="ann", session_id="s1").startswith(after(600))  # most specific scope
    assert expiry(user_id="ann", metadata={"kind": "scratch"}).startswith(after(30))  # tag wins
    assert expiry(user_id="ann", metadata={"kind": "keep"}).startswith(after(86400))
    assert expiry(user_id="ann", ttl_seconds=5).startswith(after(5))  # the write's own wins


def test_import_keeps_expiry_and_skips_what_has_expired(
    client: TestClient, headers: dict[str, str], set_clock: Callable[[datetime], None]
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    set_clock(t0)
    stamp = "2024-01-01T00:00:00Z"

    def line(content: str, expires: datetime | None) -> str:
        return json.dumps(
            {
                "id": str(uuid.uuid4()),
                "content": content,
                "occurred_at": stamp,
                "created_at": stamp,
                "updated_at": stamp,
                "expires_at": None if expires is None else expires.isoformat(),
            }
        )

    lines = [
        line("kept for an hour", t0 + timedelta(hours=1)),
        line("already gone", t0),
        line("kept for good", None),
    ]
    body = "\n".join([*lines, json.dumps({"type": "end", "count": 3})]) + "\n"
    result = client.post(
        "/v1/admin/tenants/acme/import",
        content=body.encode(),
        headers={**ADMIN, "content-type": "application/x-ndjson"},
    )
    assert result.status_code in (200, 201) and result.json() == {"imported": 2, "skipped": 1}
    export = client.get("/v1/admin/tenants/acme/export", headers=ADMIN).text
    exported = {
        item["content"]: item["expires_at"]
        for item in map(json.loads, export.splitlines())
        if "content" in item
    }
    assert set(exported) == {"kept for an hour", "kept for good"}
    assert exported["kept for good"] is None
    assert exported["kept for an hour"].startswith(
        (t0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    )
