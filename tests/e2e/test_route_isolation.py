"""Isolation, generated from the route table: every route, called with another tenant's ids
and scopes and with narrower keys, leaks nothing and answers the status its table row says.

Every route the app serves must be listed here: a ``/v1`` memory-API route in
``TENANT_ROUTES`` (with the scope it needs and how to call it), a route under ``/v1/admin``
is probed automatically (any key but the admin key is refused), and the few public routes in
``PUBLIC``. A route in none of them fails ``test_every_route_is_covered``: add its row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from service.app import create_app
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import MemoryLink
from tests.helpers import ADMIN_KEY, auth, test_settings

ADMIN = auth(ADMIN_KEY)
Builder = Callable[["Target"], Any]


@dataclass(frozen=True)
class Target:
    """What a probe aims at: a memory of the victim and the scope (user) it belongs to."""

    memory_id: str
    user_id: str


@dataclass(frozen=True)
class Row:
    """One tenant route: the scope a key needs, and how to call it at a target."""

    scope: str
    body: Builder | None = None
    query: Builder | None = None
    names_scope: bool = field(default=False)
    """The call names the target's user (a bound key asking for another scope: 403)."""


def _user_query(t: Target) -> dict[str, str]:
    return {"user_id": t.user_id}


TENANT_ROUTES: dict[tuple[str, str], Row] = {
    ("POST", "/v1/memories"): Row(
        "write", body=lambda t: {"content": "probe write", "user_id": t.user_id}, names_scope=True
    ),
    ("POST", "/v1/memories/batch"): Row(
        "write",
        body=lambda t: {"memories": [{"content": "probe batch", "user_id": t.user_id}]},
        names_scope=True,
    ),
    ("GET", "/v1/memories"): Row("read", query=_user_query, names_scope=True),
    ("GET", "/v1/memories/{memory_id}"): Row("read"),
    ("PATCH", "/v1/memories/{memory_id}"): Row("write", body=lambda t: {"content": "overwritten"}),
    ("DELETE", "/v1/memories/{memory_id}"): Row("delete"),
    ("GET", "/v1/memories/{memory_id}/history"): Row("read"),
    ("GET", "/v1/memories/{memory_id}/links"): Row("read"),
    ("POST", "/v1/search"): Row(
        "read", body=lambda t: {"query": "secret pin", "user_id": t.user_id}, names_scope=True
    ),
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/admin"),
    ("GET", "/admin/static/{name}"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
PUBLIC_ARGS = {"name": "dashboard.js"}


def _flat(routes: list[BaseRoute]) -> Iterable[Any]:
    try:  # FastAPI >= 0.165 includes routers lazily: this walks into them
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:  # older FastAPI copies included routes into the app's list
        return routes
    return iter_route_contexts(routes)  # type: ignore[no-any-return]


def _routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route served, through included routers too."""
    for route in _flat(routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, str(getattr(route, "path", ""))


@dataclass
class Key:
    headers: dict[str, str]
    scopes: frozenset[str]
    bound_to: str | None
    same_tenant: bool


@dataclass
class World:
    victim: dict[str, str]  # the victim's full key headers
    target: Target
    secrets: list[str]  # what no probe may see: the victim's contents and ids
    seeded: dict[str, dict[str, Any]]
    keys: dict[str, Key]
    admin_args: dict[str, str]


def _key(client: TestClient, tenant: str, **body: Any) -> dict[str, Any]:
    client.post("/v1/admin/tenants", json={"name": tenant}, headers=ADMIN)
    made = client.post(f"/v1/admin/tenants/{tenant}/keys", json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


@pytest.fixture
def world(client: TestClient) -> World:
    victim_key = _key(client, "acme")
    victim = auth(victim_key["key"])
    seeded: dict[str, dict[str, Any]] = {}
    for user in ("ann", "bob"):
        marker = f"ACME-{user.upper()}-{uuid.uuid4().hex}"
        made = client.post(
            "/v1/memories",
            json={"content": f"{marker} secret pin 4711", "user_id": user, "agent_id": "coach"},
            headers=victim,
        )
        assert made.status_code == 201
        seeded[marker] = made.json()
    ann, bob = (m for m in seeded.values())
    # a link across users inside the victim tenant, as the lifecycle might record one
    engine = build_engine(client.database_url)  # type: ignore[attr-defined]
    try:
        with unit_of_work(build_sessionmaker(engine)) as session:
            session.add(
                MemoryLink(
                    tenant_id=_tenant_id(client, "acme"),
                    memory_id=uuid.UUID(ann["id"]),
                    other_id=uuid.UUID(bob["id"]),
                    relation="contradicts",
                    detail={"entity": "pin"},
                )
            )
    finally:
        engine.dispose()
    other = _key(client, "globex")
    client.post("/v1/memories", json={"content": "Globex own memory"}, headers=auth(other["key"]))
    all_scopes = frozenset({"read", "write", "delete"})
    keys = {
        "other tenant": Key(auth(other["key"]), all_scopes, None, False),
        "read-only, bound to carol": Key(
            auth(_key(client, "acme", scopes=["read"], user_id="carol")["key"]),
            frozenset({"read"}),
            "carol",
            True,
        ),
        "all scopes, bound to carol": Key(
            auth(_key(client, "acme", user_id="carol")["key"]), all_scopes, "carol", True
        ),
        "write-only, bound to carol": Key(
            auth(_key(client, "acme", scopes=["write"], user_id="carol")["key"]),
            frozenset({"write"}),
            "carol",
            True,
        ),
    }
    return World(
        victim=victim,
        target=Target(memory_id=ann["id"], user_id="ann"),
        secrets=[*seeded, ann["id"], bob["id"]],
        seeded=seeded,
        keys=keys,
        admin_args={"name": "acme", "key_id": victim_key["id"], "run_id": str(uuid.uuid4())},
    )


def _tenant_id(client: TestClient, name: str) -> uuid.UUID:
    listed = client.get("/v1/admin/tenants", headers=ADMIN).json()["items"]
    return uuid.UUID(next(t["id"] for t in listed if t["name"] == name))


def _expected(row: Row, key: Key, *, by_id: bool, names_scope: bool) -> int:
    if row.scope not in key.scopes:
        return 403
    if by_id:  # another tenant's memory, or one outside the key's binding: not found
        return 404
    if names_scope and key.bound_to is not None:
        return 403
    return 201 if row.scope == "write" else 200


def _leaks(text: str, secrets: list[str], *, echoed: str | None) -> list[str]:
    # a 404 may repeat the id the client sent; nothing else of the victim may appear
    if echoed is not None:
        text = text.replace(echoed, "")
    return [s for s in secrets if s in text]


def _uncovered(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    served = set(_routes(routes))
    admin = {r for r in served if r[1].startswith("/v1/admin/")}
    assert set(TENANT_ROUTES) <= served, "a row for a route the app no longer serves"
    return served - set(TENANT_ROUTES) - admin - PUBLIC


def test_every_route_is_covered(tmp_path: Path) -> None:
    app = create_app(test_settings("sqlite:///unused.db", tmp_path))  # routes only, not started
    unlisted = _uncovered(app.routes)
    assert not unlisted, f"routes without an isolation row (add them to TENANT_ROUTES): {unlisted}"
    assert all(p.startswith("/v1/") for _, p in TENANT_ROUTES)

    # the check itself: a route added to the app (or to an included router) is caught
    @app.post("/v1/memories/{memory_id}/pin")
    def pin(memory_id: str) -> None:  # pragma: no cover - never called
        return None

    assert _uncovered(app.routes) == {("POST", "/v1/memories/{memory_id}/pin")}


def test_tenant_routes_leak_nothing(client: TestClient, world: World) -> None:
    failures: list[str] = []
    for (method, template), row in TENANT_ROUTES.items():
        by_id = "{memory_id}" in template
        path = template.replace("{memory_id}", world.target.memory_id)
        variants = [True, False] if row.names_scope else [False]
        for name, key in world.keys.items():
            for names_scope in variants:
                body = row.body(world.target) if row.body else None
                query = row.query(world.target) if row.query and names_scope else None
                if body is not None and not names_scope and row.names_scope:
                    body = _without_user(body)
                answer = client.request(method, path, json=body, params=query, headers=key.headers)
                want = _expected(row, key, by_id=by_id, names_scope=names_scope)
                label = f"{method} {template} as {name} (names scope: {names_scope})"
                if answer.status_code != want:
                    failures.append(f"{label}: {answer.status_code}, expected {want}")
                if answer.status_code >= 400 and not answer.headers["content-type"].startswith(
                    "application/problem+json"
                ):
                    failures.append(f"{label}: not a problem document")
                echoed = world.target.memory_id if by_id else None
                if leaked := _leaks(answer.text, world.secrets, echoed=echoed):
                    failures.append(f"{label}: leaked {leaked}")
    assert not failures, "\n".join(failures)
    # and nothing the probes sent changed the victim's memories
    for marker, seeded in world.seeded.items():
        now = client.get(f"/v1/memories/{seeded['id']}", headers=world.victim)
        assert now.status_code == 200 and now.json() == seeded, marker


def _without_user(body: dict[str, Any]) -> dict[str, Any]:
    if "memories" in body:
        return {"memories": [_without_user(m) for m in body["memories"]]}
    return {k: v for k, v in body.items() if k != "user_id"}


def test_admin_and_public_routes(client: TestClient, world: World) -> None:
    """Admin routes refuse every key but the admin key; public routes show no tenant data;
    the memory API refuses no key, an unknown key and the admin key (it is no tenant's)."""
    routes = client.app.routes  # type: ignore[attr-defined]
    admin_routes = [r for r in _routes(routes) if r[1].startswith("/v1/admin/")]
    assert len(admin_routes) >= 15
    failures: list[str] = []
    callers: dict[str, dict[str, str]] = {"no key": {}, "the victim's key": world.victim} | {
        name: key.headers for name, key in world.keys.items()
    }
    for method, template in admin_routes:
        path = template
        for param, value in world.admin_args.items():
            path = path.replace("{" + param + "}", value)
        assert "{" not in path, f"no probe value for a parameter of {template}: add it"
        for name, headers in callers.items():
            answer = client.request(method, path, headers=headers)
            want = 401 if name == "no key" else 403
            if answer.status_code != want:
                failures.append(f"{method} {template} as {name}: {answer.status_code} != {want}")
            if leaked := _leaks(answer.text, world.secrets, echoed=None):
                failures.append(f"{method} {template} as {name}: leaked {leaked}")
    assert not failures, "\n".join(failures)
    for method, template in PUBLIC:
        path = template.replace("{name}", PUBLIC_ARGS["name"])
        answer = client.request(method, path)
        assert answer.status_code == 200, template
        assert not _leaks(answer.text, world.secrets, echoed=None), template
    for method, template in TENANT_ROUTES:
        path = template.replace("{memory_id}", world.target.memory_id)
        for headers in ({}, auth("mnx_not_a_key"), ADMIN):
            answer = client.request(method, path, headers=headers)
            # the admin key is no tenant key: it reaches no tenant's memories
            assert answer.status_code == 401, (method, template, headers)


def test_links_of_a_bound_key_stay_inside_its_binding(client: TestClient, world: World) -> None:
    ann = auth(_key(client, "acme", scopes=["read"], user_id="ann")["key"])
    path = f"/v1/memories/{world.target.memory_id}/links"
    seen = client.get(path, headers=ann)
    assert seen.status_code == 200 and seen.json()["links"] == []
    everything = client.get(path, headers=world.victim).json()["links"]
    assert [link["relation"] for link in everything] == ["contradicts"]
