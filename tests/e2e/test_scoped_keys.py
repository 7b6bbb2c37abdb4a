"""Keys that carry less power: scopes, a user / agent binding, per-key rate limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.app import create_app
from tests.helpers import ADMIN_KEY, auth, test_settings

ADMIN = auth(ADMIN_KEY)
PROBLEM = "application/problem+json"


def _key(client: TestClient, tenant: str = "acme", **body: Any) -> dict[str, Any]:
    client.post("/v1/admin/tenants", json={"name": tenant}, headers=ADMIN)
    created = client.post(f"/v1/admin/tenants/{tenant}/keys", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()
    return data


def _forbidden(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


def test_scopes_limit_what_a_key_may_do(client: TestClient) -> None:
    full = auth(_key(client)["key"])
    reader = _key(client, name="reader", scopes=["read"])
    assert reader["scopes"] == ["read"]
    read_only = auth(reader["key"])
    writer = auth(_key(client, scopes=["write"])["key"])
    deleter = auth(_key(client, scopes=["delete", "read"])["key"])

    stored = client.post("/v1/memories", json={"content": "Ann likes tea"}, headers=full).json()
    path = f"/v1/memories/{stored['id']}"
    _forbidden(client.post("/v1/memories", json={"content": "x"}, headers=read_only))
    _forbidden(
        client.post("/v1/memories/batch", json={"memories": [{"content": "x"}]}, headers=read_only)
    )
    _forbidden(client.patch(path, json={"content": "changed"}, headers=read_only))
    _forbidden(client.delete(path, headers=read_only))
    _forbidden(client.delete(path, headers=writer))
    for method, url, body in [
        ("GET", "/v1/memories", None),
        ("GET", path, None),
        ("GET", f"{path}/history", None),
        ("GET", f"{path}/links", None),
        ("POST", "/v1/search", {"query": "tea"}),
    ]:
        assert client.request(method, url, json=body, headers=read_only).status_code == 200
        _forbidden(client.request(method, url, json=body, headers=writer))
    problem = client.get("/v1/memories", headers=writer).json()
    assert problem["missing"] == ["read"] and "read" in problem["detail"]

    assert client.patch(path, json={"importance": 0.9}, headers=writer).status_code == 200
    assert client.post("/v1/memories", json={"content": "w"}, headers=writer).status_code == 201
    assert client.delete(path, headers=deleter).status_code == 204
    assert client.get(path, headers=full).status_code == 404


def test_a_bound_key_reaches_only_its_scope(client: TestClient) -> None:
    full = auth(_key(client)["key"])
    ann_key = _key(client, user_id="ann", agent_id="coach")
    assert (ann_key["user_id"], ann_key["agent_id"]) == ("ann", "coach")
    ann = auth(ann_key["key"])
    bob_memory = client.post(
        "/v1/memories",
        json={"content": "Bob's secret pin is 4711", "user_id": "bob", "agent_id": "coach"},
        headers=full,
    ).json()
    other_agent = client.post(
        "/v1/memories",
        json={"content": "Ann told the planner her pin", "user_id": "ann", "agent_id": "planner"},
        headers=full,
    ).json()

    # writes: the binding fills the scope; another scope is refused, a batch as a whole
    mine = client.post("/v1/memories", json={"content": "Ann's pin is 1234"}, headers=ann)
    assert mine.status_code == 201
    assert (mine.json()["user_id"], mine.json()["agent_id"]) == ("ann", "coach")
    same = {"content": "Ann again", "user_id": "ann", "agent_id": "coach"}
    assert client.post("/v1/memories", json=same, headers=ann).status_code == 201
    _forbidden(client.post("/v1/memories", json={"content": "x", "user_id": "bob"}, headers=ann))
    batch = [{"content": "ok"}, {"content": "sneaky", "agent_id": "planner"}]
    _forbidden(client.post("/v1/memories/batch", json={"memories": batch}, headers=ann))
    everything = client.get("/v1/memories", params={"limit": 100}, headers=full).json()
    assert len(everything["items"]) == 4

    # reads: filtered to the binding; other memories are not found (not forbidden)
    listed = client.get("/v1/memories", headers=ann).json()["items"]
    assert {m["user_id"] for m in listed} == {"ann"} and {m["agent_id"] for m in listed} == {
        "coach"
    }
    assert len(listed) == 2
    _forbidden(client.get("/v1/memories", params={"user_id": "bob"}, headers=ann))
    hits = client.post("/v1/search", json={"query": "pin", "limit": 10}, headers=ann).json()
    assert {h["memory"]["id"] for h in hits["results"]} <= {m["id"] for m in listed}
    assert hits["results"], "the bound key finds its own memories"
    _forbidden(client.post("/v1/search", json={"query": "pin", "user_id": "bob"}, headers=ann))
    for foreign in (bob_memory["id"], other_agent["id"]):
        path = f"/v1/memories/{foreign}"
        for method, url, body in [
            ("GET", path, None),
            ("GET", f"{path}/history", None),
            ("GET", f"{path}/links", None),
            ("PATCH", path, {"content": "overwritten"}),
            ("DELETE", path, None),
        ]:
            answer = client.request(method, url, json=body, headers=ann)
            assert answer.status_code == 404, (method, url)
            assert "4711" not in answer.text and "planner" not in answer.text
    assert client.get(f"/v1/memories/{bob_memory['id']}", headers=full).json()["content"] == (
        "Bob's secret pin is 4711"
    )
    own = f"/v1/memories/{mine.json()['id']}"
    assert client.patch(own, json={"content": "Ann's pin is 9999"}, headers=ann).status_code == 200
    assert client.get(f"{own}/history", headers=ann).status_code == 200
    assert client.delete(own, headers=ann).status_code == 204


def test_key_fields_are_validated_and_listed(client: TestClient) -> None:
    client.post("/v1/admin/tenants", json={"name": "acme"}, headers=ADMIN)
    for bad in [
        {"scopes": []},
        {"scopes": ["admin"]},
        {"scopes": ["read", "read"]},
        {"user_id": ""},
        {"user_id": "a\u0000b"},
        {"rate_limit": {"per_second": 0}},
        {"rate_limit": {"per_second": 1, "burst": 0}},
        {"rate_limit": {"burst": 3}},
        {"unknown": 1},
    ]:
        answer = client.post("/v1/admin/tenants/acme/keys", json=bad, headers=ADMIN)
        assert answer.status_code == 422, bad
    _key(client, name="limited", scopes=["write", "read"], rate_limit={"per_second": 2.5})
    keys = client.get("/v1/admin/tenants/acme/keys", headers=ADMIN).json()["items"]
    assert keys == [
        {
            **{k: keys[0][k] for k in ("id", "prefix", "created_at")},
            "name": "limited",
            "revoked_at": None,
            "scopes": ["read", "write"],
            "user_id": None,
            "agent_id": None,
            "rate_limit": {"per_second": 2.5, "burst": None},
        }
    ]


def test_rate_limit_answers_429_with_retry_after(client: TestClient) -> None:
    limited = auth(_key(client, rate_limit={"per_second": 0.5, "burst": 2})["key"])
    free = auth(_key(client)["key"])
    assert [client.get("/v1/memories", headers=limited).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/v1/memories", headers=limited)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.headers["retry-after"] == "2"  # one token back at 0.5 per second
    assert refused.json()["retry_after"] == 2
    assert all(client.get("/v1/memories", headers=free).status_code == 200 for _ in range(5))


def test_default_rate_limit_from_settings(database_url: str, tmp_path: Path) -> None:
    settings = test_settings(database_url, tmp_path, rate_limit={"per_second": 0.1, "burst": 1})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        default = auth(_key(client)["key"])
        own = auth(_key(client, rate_limit={"per_second": 1000})["key"])
        assert client.get("/v1/memories", headers=default).status_code == 200
        refused = client.get("/v1/memories", headers=default)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "10"
        assert all(client.get("/v1/memories", headers=own).status_code == 200 for _ in range(5))
        # the admin key is never limited
        assert all(
            client.get("/v1/admin/stats", headers=ADMIN).status_code == 200 for _ in range(3)
        )
