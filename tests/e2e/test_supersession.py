"""Supersession through the API, on both databases: explicit ``supersedes`` on create, batch
and PATCH (checked), detected supersession (listed, undone), recall that prefers what is
current, ``include_superseded`` / ``as_of`` / ``known_at``, and exact undo."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import ADMIN_KEY, auth, create_tenant_key

T1, T2, T3 = "2026-01-10T12:00:00Z", "2026-03-10T12:00:00Z", "2026-06-10T12:00:00Z"


def _add(client: TestClient, headers: dict[str, str], content: str, **extra: Any) -> dict[str, Any]:
    body = {"content": content, "user_id": "u1", **extra}
    response = client.post("/v1/memories", json=body, headers=headers)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _get(client: TestClient, headers: dict[str, str], memory_id: str) -> dict[str, Any]:
    out: dict[str, Any] = client.get(f"/v1/memories/{memory_id}", headers=headers).json()
    return out


def _search(client: TestClient, headers: dict[str, str], query: str, **extra: Any) -> list[str]:
    body = {"query": query, "user_id": "u1", "limit": 10, **extra}
    response = client.post("/v1/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [hit["memory"]["id"] for hit in response.json()["results"]]


def test_explicit_supersession_recall_and_exact_undo(
    client: TestClient, headers: dict[str, str]
) -> None:
    old = _add(client, headers, "The team standup is at 9:00 in room Kepler.", occurred_at=T1)
    time.sleep(0.01)
    new = _add(
        client,
        headers,
        "The team standup is at 9:30 in room Kepler.",
        occurred_at=T2,
        supersedes=[old["id"]],
    )
    replaced = _get(client, headers, old["id"])
    assert replaced["superseded_by"] == new["id"] and replaced["superseded_at"] is not None
    assert replaced["valid_until"].startswith("2026-03-10T12:00:00")
    assert replaced["content"] == old["content"]  # still readable
    events = client.get(f"/v1/memories/{old['id']}/history", headers=headers).json()["events"]
    assert [e["event"] for e in events] == ["created", "superseded"]

    assert _search(client, headers, "team standup room Kepler") == [new["id"]]
    chain = _search(client, headers, "team standup room Kepler", include_superseded=True)
    assert chain == [new["id"], old["id"]]  # the replaced one right below its successor
    assert _search(client, headers, "team standup", as_of="2026-02-01T00:00:00Z") == [old["id"]]
    assert _search(client, headers, "team standup", as_of="2026-04-01T00:00:00Z") == [new["id"]]
    assert _search(client, headers, "team standup", as_of="2025-12-01T00:00:00Z") == []
    known = replaced["superseded_at"]
    assert _search(client, headers, "team standup", known_at=old["created_at"]) == [old["id"]]
    assert _search(client, headers, "team standup", known_at=known) == [new["id"]]

    explained = client.post(
        "/v1/search",
        json={"query": "standup", "user_id": "u1", "explain": True, "include_superseded": True},
        headers=headers,
    ).json()["results"]
    notes = {hit["memory"]["id"]: hit["explanation"]["supersession"] for hit in explained}
    assert notes[new["id"]]["status"] == "current"
    assert notes[new["id"]]["supersedes"][0]["memory_id"] == old["id"]
    assert notes[old["id"]]["status"] == "superseded" and "demoted" in notes[old["id"]]["reason"]

    listed = client.get("/v1/memories", params={"include_superseded": "false"}, headers=headers)
    assert [m["id"] for m in listed.json()["items"]] == [new["id"]]
    assert len(client.get("/v1/memories", headers=headers).json()["items"]) == 2

    assert client.delete(f"/v1/memories/{new['id']}", headers=headers).status_code == 204
    restored = _get(client, headers, old["id"])
    assert restored["superseded_by"] is None and restored["superseded_at"] is None
    assert _search(client, headers, "team standup room Kepler") == [old["id"]]


def test_supersedes_is_checked(client: TestClient, headers: dict[str, str]) -> None:
    a = _add(client, headers, "Parking is on level 2.")
    b = _add(client, headers, "Parking is on level 3.", supersedes=[a["id"]])
    missing = _add_status(client, headers, {"content": "x", "supersedes": [str(uuid.uuid4())]})
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = _add_status(client, headers, {"content": "x", "supersedes": ["not-a-uuid"]})
    assert bad.status_code == 422
    too_many = _add_status(
        client, headers, {"content": "x", "supersedes": [str(uuid.uuid4())] * 101}
    )
    assert too_many.status_code == 422
    own = client.patch(f"/v1/memories/{b['id']}", json={"supersedes": [b["id"]]}, headers=headers)
    assert own.status_code == 422
    cycle = client.patch(f"/v1/memories/{a['id']}", json={"supersedes": [b["id"]]}, headers=headers)
    assert cycle.status_code == 409
    assert _get(client, headers, b["id"])["superseded_by"] is None  # nothing half-written
    other = auth(create_tenant_key(client.database_url, "other"))  # type: ignore[attr-defined]
    theirs = _add(client, other, "Their parking is on level 9.")
    foreign = _add_status(client, headers, {"content": "x", "supersedes": [theirs["id"]]})
    assert foreign.status_code == 422 and _get(client, other, theirs["id"])["superseded_by"] is None
    none = client.patch(f"/v1/memories/{b['id']}", json={"supersedes": None}, headers=headers)
    assert none.status_code == 422

    # batch and PATCH: a later write replaces an earlier one
    batch = client.post(
        "/v1/memories/batch",
        json={"memories": [{"content": "Parking is on level 4.", "supersedes": [b["id"]]}]},
        headers=headers,
    )
    assert batch.status_code == 201
    c = batch.json()["ids"][0]
    assert _get(client, headers, b["id"])["superseded_by"] == c
    d = _add(client, headers, "Bike parking is by the north door.")
    patched = client.patch(f"/v1/memories/{c}", json={"supersedes": [d["id"]]}, headers=headers)
    assert patched.status_code == 200
    assert _get(client, headers, d["id"])["superseded_by"] == c
    again = client.patch(f"/v1/memories/{c}", json={"supersedes": [d["id"]]}, headers=headers)
    assert again.status_code == 200  # idempotent


def _add_status(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/v1/memories", json=body, headers=headers)


def test_detected_supersession_is_listed_and_undone(
    client: TestClient, headers: dict[str, str]
) -> None:
    paris = _add(client, headers, "I live in Paris.", occurred_at=T1)
    visit = _add(client, headers, "I visited Rome with my sister.", occurred_at=T1)
    berlin = _add(client, headers, "I just moved to Berlin!", occurred_at=T2)
    assert _get(client, headers, paris["id"])["superseded_by"] == berlin["id"]
    assert _get(client, headers, visit["id"])["superseded_by"] is None
    # a late write about an earlier time is itself the superseded one
    lyon = _add(client, headers, "I live in Lyon.", occurred_at="2025-06-01T00:00:00Z")
    assert _get(client, headers, lyon["id"])["superseded_by"] is not None

    detected = client.get("/v1/supersessions", params={"kind": "detected"}, headers=headers)
    items = detected.json()["items"]
    link = next(i for i in items if i["other_id"] == paris["id"])
    assert link["memory_id"] == berlin["id"] and link["source"] == "write"
    assert link["detail"]["attribute"] == "home" and link["detail"]["previous_value"] == "paris"
    assert (
        client.get("/v1/supersessions", params={"kind": "explicit"}, headers=headers).json()[
            "items"
        ]
        == []
    )
    assert (
        client.get("/v1/supersessions", params={"cursor": "x"}, headers=headers).status_code == 422
    )

    assert client.delete(f"/v1/supersessions/{link['id']}", headers=headers).status_code == 204
    assert _get(client, headers, paris["id"])["superseded_by"] is None
    assert client.delete(f"/v1/supersessions/{link['id']}", headers=headers).status_code == 404
    dismissed = client.get(
        "/v1/supersessions", params={"include_dismissed": "true"}, headers=headers
    ).json()["items"]
    assert any(i["id"] == link["id"] and i["dismissed"] for i in dismissed)
    # the lifecycle does not detect a dismissed pair again
    run = client.post("/v1/admin/lifecycle/runs", json={}, headers=auth(ADMIN_KEY))
    assert run.status_code == 201
    assert _get(client, headers, paris["id"])["superseded_by"] is None
    other = auth(create_tenant_key(client.database_url, "other"))  # type: ignore[attr-defined]
    assert client.delete(f"/v1/supersessions/{link['id']}", headers=other).status_code == 404


def test_lifecycle_detects_what_the_write_path_could_not(
    client: TestClient, headers: dict[str, str]
) -> None:
    off = client.put(
        "/v1/admin/tenants/acme/lifecycle-policy",
        json={"supersession": False},
        headers=auth(ADMIN_KEY),
    )
    assert off.status_code == 200, off.text
    old = _add(client, headers, "I work at Initech.", occurred_at=T1)
    new = _add(client, headers, "I started a new job at Globex.", occurred_at=T3)
    assert _get(client, headers, old["id"])["superseded_by"] is None
    client.put("/v1/admin/tenants/acme/lifecycle-policy", json={}, headers=auth(ADMIN_KEY))
    run = client.post("/v1/admin/lifecycle/runs", json={}, headers=auth(ADMIN_KEY)).json()
    assert run["superseded"] == 1
    assert _get(client, headers, old["id"])["superseded_by"] == new["id"]
    assert _search(client, headers, "where do I work") == [new["id"]]


def test_export_and_import_keep_the_chain(client: TestClient, headers: dict[str, str]) -> None:
    admin = auth(ADMIN_KEY)
    old = _add(client, headers, "I live in Paris.", occurred_at=T1)
    new = _add(client, headers, "I just moved to Berlin!", occurred_at=T2)
    exported = client.get("/v1/admin/tenants/acme/export", headers=admin)
    assert exported.status_code == 200
    lines = [line for line in exported.text.splitlines() if line]
    by_id = {row["id"]: row for row in map(json.loads, lines[:-1])}
    assert by_id[old["id"]]["replaced_by"] == new["id"]
    assert by_id[new["id"]]["links"][0]["relation"] == "supersedes"
    assert client.delete(f"/v1/memories/{new['id']}", headers=headers).status_code == 204
    assert client.delete(f"/v1/memories/{old['id']}", headers=headers).status_code == 204
    imported = client.post(
        "/v1/admin/tenants/acme/import",
        content=exported.content,
        headers={**admin, "Content-Type": "application/x-ndjson"},
    )
    assert imported.status_code == 200, imported.text
    assert _get(client, headers, old["id"])["superseded_by"] == new["id"]
    assert _search(client, headers, "where do I live") == [new["id"]]
    assert _search(client, headers, "where do I live", as_of="2026-02-01T00:00:00Z") == [old["id"]]
    # the restored links undo as before
    assert client.delete(f"/v1/memories/{new['id']}", headers=headers).status_code == 204
    assert _get(client, headers, old["id"])["superseded_by"] is None


def test_known_at_shows_the_text_the_store_knew_then(
    client: TestClient, headers: dict[str, str]
) -> None:
    """An edit after ``known_at`` is undone in the answer: the hit shows the content and
    metadata it had then (from the history); without ``known_at``, today's."""
    memory = _add(client, headers, "The garage door code is 1234.", metadata={"source": "note"})
    time.sleep(0.01)
    known = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    patched = client.patch(
        f"/v1/memories/{memory['id']}",
        json={"content": "The garage door code is 9876.", "metadata": {"source": "chat"}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    body = {"query": "garage door code", "user_id": "u1", "known_at": known}
    then = client.post("/v1/search", json=body, headers=headers).json()["results"]
    assert [h["memory"]["content"] for h in then] == ["The garage door code is 1234."]
    assert then[0]["memory"]["metadata"] == {"source": "note"}
    now = client.post(
        "/v1/search", json={"query": "garage door code", "user_id": "u1"}, headers=headers
    ).json()["results"]
    assert [h["memory"]["content"] for h in now] == ["The garage door code is 9876."]
