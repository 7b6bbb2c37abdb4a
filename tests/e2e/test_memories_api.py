from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.helpers import auth, create_tenant_key


def _add(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = client.post("/v1/memories", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_update_delete_history(client: TestClient, headers: dict[str, str]) -> None:
    created = _add(
        client,
        headers,
        content="Alice adopted a beagle named Biscuit",
        user_id="alice",
        metadata={"source": "chat", "turn": 3},
        occurred_at="2023-05-08T13:56:00Z",
        importance=0.8,
    )
    memory_id = created["id"]
    assert created["version"] == 1
    assert created["occurred_at"].startswith("2023-05-08T13:56:00")
    assert created["tier"] == "hot"

    got = client.get(f"/v1/memories/{memory_id}", headers=headers).json()
    assert got["content"] == "Alice adopted a beagle named Biscuit"
    assert got["metadata"] == {"source": "chat", "turn": 3}

    patched = client.patch(
        f"/v1/memories/{memory_id}",
        json={"content": "Alice adopted a beagle named Cookie", "version": 1},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    live = client.get(f"/v1/memories/{memory_id}/history", headers=headers).json()["events"]
    assert live[1]["changes"]["content"]["to"] == "Alice adopted a beagle named Cookie"

    stale = client.patch(
        f"/v1/memories/{memory_id}", json={"importance": 0.1, "version": 1}, headers=headers
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")

    found = client.post(
        "/v1/search", json={"query": "beagle named Cookie", "user_id": "alice"}, headers=headers
    ).json()
    assert found["results"][0]["memory"]["id"] == memory_id

    assert client.delete(f"/v1/memories/{memory_id}", headers=headers).status_code == 204
    assert client.get(f"/v1/memories/{memory_id}", headers=headers).status_code == 404
    after = client.post(
        "/v1/search", json={"query": "beagle named Cookie", "user_id": "alice"}, headers=headers
    ).json()
    assert all(r["memory"]["id"] != memory_id for r in after["results"])

    events = client.get(f"/v1/memories/{memory_id}/history", headers=headers).json()["events"]
    assert [e["event"] for e in events] == ["created", "updated", "deleted"]
    assert all(e["changes"] == {} for e in events)  # deleted: no content survives in history
    engine = create_engine(client.database_url)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = (
            conn.execute(text("SELECT content FROM memory")).all()
            + conn.execute(text("SELECT changes FROM memory_event")).all()
        )
    engine.dispose()
    assert not any("beagle" in str(r[0]) for r in rows)


def test_batch_is_atomic_and_ordered(client: TestClient, headers: dict[str, str]) -> None:
    memories = [{"content": f"fact number {i}", "user_id": "u"} for i in range(150)]
    response = client.post("/v1/memories/batch", json={"memories": memories}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["ids"]) == 150
    assert [m["content"] for m in body["memories"]] == [m["content"] for m in memories]

    bad = [{"content": "fine"}, {"content": ""}]
    response = client.post("/v1/memories/batch", json={"memories": bad}, headers=headers)
    assert response.status_code == 422
    listed = client.get("/v1/memories", params={"limit": 100}, headers=headers).json()
    assert all(m["content"] != "fine" for m in listed["items"])


def test_list_filters_and_cursor_pagination(client: TestClient, headers: dict[str, str]) -> None:
    for i in range(7):
        _add(
            client,
            headers,
            content=f"note {i}",
            user_id="a" if i % 2 else "b",
            metadata={"speaker": "Ann" if i < 3 else "Bob"},
            occurred_at=f"2024-01-0{i + 1}T00:00:00Z",
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/memories", params=params, headers=headers).json()
        seen += [m["content"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"note {i}" for i in range(7)]
    assert len(seen) == len(set(seen))

    by_user = client.get("/v1/memories", params={"user_id": "a"}, headers=headers).json()
    assert sorted(m["content"] for m in by_user["items"]) == ["note 1", "note 3", "note 5"]
    by_meta = client.get(
        "/v1/memories", params={"metadata": '{"speaker": "Ann"}'}, headers=headers
    ).json()
    assert sorted(m["content"] for m in by_meta["items"]) == ["note 0", "note 1", "note 2"]
    by_time = client.get(
        "/v1/memories",
        params={
            "occurred_after": "2024-01-03T00:00:00Z",
            "occurred_before": "2024-01-05T00:00:00Z",
        },
        headers=headers,
    ).json()
    assert sorted(m["content"] for m in by_time["items"]) == ["note 2", "note 3"]


def test_search_scope_and_response_shape(client: TestClient, headers: dict[str, str]) -> None:
    _add(client, headers, content="The user prefers green tea in the morning", user_id="u1")
    _add(client, headers, content="The user prefers green tea in the morning", user_id="u2")
    _add(client, headers, content="Quarterly revenue grew by ten percent", user_id="u1")
    body = client.post(
        "/v1/search",
        json={"query": "what does the user like to drink", "user_id": "u2", "explain": True},
        headers=headers,
    ).json()
    assert [r["memory"]["user_id"] for r in body["results"]] == ["u2"]
    hit = body["results"][0]
    assert "semantic" in hit["channels"] and hit["channels"]["semantic"]["rank"] == 1
    assert "semantic" in hit["explanation"]
    assert "total" in body["timings_ms"] and "semantic" in body["timings_ms"]


def test_tenants_are_isolated(client: TestClient, headers: dict[str, str]) -> None:
    mine = _add(client, headers, content="secret plan for the launch")
    other = auth(create_tenant_key(client.database_url, "globex"))  # type: ignore[attr-defined]
    assert client.get(f"/v1/memories/{mine['id']}", headers=other).status_code == 404
    assert (
        client.patch(f"/v1/memories/{mine['id']}", json={"pinned": True}, headers=other).status_code
        == 404
    )
    assert client.delete(f"/v1/memories/{mine['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/memories/{mine['id']}/history", headers=other).status_code == 404
    assert client.get("/v1/memories", headers=other).json()["items"] == []
    found = client.post("/v1/search", json={"query": "secret plan launch"}, headers=other).json()
    assert found["results"] == []
    assert client.get(f"/v1/memories/{mine['id']}", headers=headers).status_code == 200


def test_missing_unknown_and_revoked_keys(client: TestClient) -> None:
    assert client.get("/v1/memories").status_code == 401
    assert client.get("/v1/memories", headers=auth("mnx_nope")).status_code == 401
    response = client.get("/v1/memories", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


def test_unknown_id_is_404(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(f"/v1/memories/{uuid.uuid4()}", headers=headers)
    assert response.status_code == 404
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance", "request_id"}


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["indexes"] == "ok"
