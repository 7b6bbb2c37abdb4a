"""The admin API: admin key only; tenants, keys (hashed, shown once), stats, reindex."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import LifecycleRun
from storage.types import utcnow
from tests.helpers import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)


def test_admin_endpoints_need_the_admin_key(client: TestClient, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/v1/admin/stats"),
        ("GET", "/v1/admin/tenants"),
        ("POST", "/v1/admin/reindex"),
        ("GET", "/v1/admin/tenants/acme/keys"),
        ("DELETE", f"/v1/admin/keys/{uuid.uuid4()}"),
    ]:
        assert client.request(method, path).status_code == 401
        assert client.request(method, path, headers=auth("mnx_unknown")).status_code == 401
        forbidden = client.request(method, path, headers=headers)
        assert forbidden.status_code == 403, path
        assert forbidden.headers["content-type"].startswith("application/problem+json")


def test_tenants_and_keys(client: TestClient) -> None:
    created = client.post("/v1/admin/tenants", json={"name": "globex"}, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["name"] == "globex" and created.json()["memories"] == 0
    assert (
        client.post("/v1/admin/tenants", json={"name": "globex"}, headers=ADMIN).status_code == 409
    )
    for bad in ["", "a/b", "has space", "x" * 101]:
        assert (
            client.post("/v1/admin/tenants", json={"name": bad}, headers=ADMIN).status_code == 422
        )

    key = client.post("/v1/admin/tenants/globex/keys", json={"name": "ci"}, headers=ADMIN)
    assert key.status_code == 201
    secret = key.json()["key"]
    assert secret.startswith(key.json()["prefix"]) and key.json()["revoked_at"] is None
    plain = client.post("/v1/admin/tenants/globex/keys", headers=ADMIN)  # the body is optional
    assert plain.status_code == 201 and plain.json()["name"] == ""
    assert client.post("/v1/admin/tenants/nope/keys", headers=ADMIN).status_code == 404

    memory = client.post("/v1/memories", json={"content": "Globex ships"}, headers=auth(secret))
    assert memory.status_code == 201
    listed = client.get("/v1/admin/tenants", headers=ADMIN).json()["items"]
    assert {"globex": 1}.items() <= {t["name"]: t["memories"] for t in listed}.items()

    keys = client.get("/v1/admin/tenants/globex/keys", headers=ADMIN).json()["items"]
    assert [k["name"] for k in keys] == ["ci", ""]
    fields = {"id", "name", "prefix", "created_at", "revoked_at", "scopes", "user_id", "agent_id"}
    assert all(set(k) == {*fields, "rate_limit"} for k in keys)
    assert all(k["scopes"] == ["read", "write", "delete"] for k in keys)
    assert secret not in str(keys)

    revoked = client.delete(f"/v1/admin/keys/{key.json()['id']}", headers=ADMIN)
    assert revoked.status_code == 204
    # the auth cache held this key: the revocation still takes effect at once
    assert client.get("/v1/memories", headers=auth(secret)).status_code == 401
    assert client.delete(f"/v1/admin/keys/{key.json()['id']}", headers=ADMIN).status_code == 204
    assert client.delete(f"/v1/admin/keys/{uuid.uuid4()}", headers=ADMIN).status_code == 404
    keys = client.get("/v1/admin/tenants/globex/keys", headers=ADMIN).json()["items"]
    assert keys[0]["revoked_at"] is not None and keys[1]["revoked_at"] is None
    assert client.get("/v1/memories", headers=auth(plain.json()["key"])).status_code == 200
    assert client.get("/v1/admin/tenants/nope/keys", headers=ADMIN).status_code == 404


def test_stats(client: TestClient, headers: dict[str, str]) -> None:
    for i in range(3):
        client.post("/v1/memories", json={"content": f"note {i} about llamas"}, headers=headers)
    for _ in range(4):
        assert (
            client.post("/v1/search", json={"query": "llamas"}, headers=headers).status_code == 200
        )
    started = utcnow() - timedelta(minutes=5)
    engine = build_engine(client.database_url)  # type: ignore[attr-defined]
    with unit_of_work(build_sessionmaker(engine)) as session:
        session.add(
            LifecycleRun(
                status="completed",
                started_at=started,
                finished_at=started + timedelta(seconds=2),
                report={"examined": 3, "changed": 1, "moves": {"hot->warm": 1}, "merged": 0},
            )
        )
    engine.dispose()

    stats = client.get("/v1/admin/stats", headers=ADMIN).json()
    assert stats["totals"] == {"memories": 3, "tenants": 1}
    (acme,) = stats["tenants"]
    assert acme["name"] == "acme" and acme["memories"] == 3
    assert acme["tiers"] == {"hot": 3, "warm": 0, "cold": 0, "archived": 0}
    assert stats["tiers"]["hot"]["memories"] == 3 and stats["tiers"]["hot"]["bytes"] > 0
    assert stats["tiers"]["cold"] == {"memories": 0, "bytes": 0}
    assert set(stats["indexes"]) == {"semantic", "keyword", "temporal", "graph"}
    assert all(v["entries"] == 3 and v["bytes"] > 0 for v in stats["indexes"].values())
    for channel in stats["channels"].values():
        assert channel["healthy"] and channel["searches"] == 4
        assert 0 <= channel["p50_ms"] <= channel["p95_ms"]
    (run,) = stats["lifecycle"]["runs"]
    assert run["status"] == "completed" and run["duration_ms"] == 2000.0
    assert run["moves"] == {"hot->warm": 1} and run["examined"] == 3 and run["changed"] == 1


def test_reindex_rebuilds_from_sql(client: TestClient, headers: dict[str, str]) -> None:
    client.post("/v1/memories", json={"content": "Zebras have stripes"}, headers=headers)
    client.post("/v1/admin/tenants", json={"name": "empty"}, headers=ADMIN)
    everything = client.post("/v1/admin/reindex", headers=ADMIN).json()
    assert sorted(everything["tenants"]) == ["acme", "empty"] and everything["memories"] == 1
    one = client.post("/v1/admin/reindex", json={"tenant": "acme"}, headers=ADMIN).json()
    assert one["tenants"] == ["acme"] and one["memories"] == 1 and one["duration_ms"] >= 0
    assert (
        client.post("/v1/admin/reindex", json={"tenant": "nope"}, headers=ADMIN).status_code == 404
    )
    found = client.post("/v1/search", json={"query": "zebras stripes"}, headers=headers).json()
    assert found["results"][0]["memory"]["content"] == "Zebras have stripes"
