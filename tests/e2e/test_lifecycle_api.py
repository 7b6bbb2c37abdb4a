"""The lifecycle through the API: admin runs, consolidation seen by clients, undoing it,
contradiction links and tenant policy."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import ADMIN_KEY, auth

ADMIN = auth(ADMIN_KEY)
DUPLICATES = [
    "Priya's sister lives in Lisbon and teaches violin.",
    "Priya's sister lives in Lisbon and teaches violin!",
    "priya's sister lives in lisbon and teaches violin",
]


def _add(client: TestClient, headers: dict[str, str], content: str, **extra: object) -> str:
    response = client.post(
        "/v1/memories", json={"content": content, "user_id": "u1", **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _run(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/v1/admin/lifecycle/runs", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    run: dict[str, object] = response.json()
    return run


def test_runs_need_the_admin_key_and_are_recorded(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert client.post("/v1/admin/lifecycle/runs", json={}, headers=headers).status_code == 403
    assert client.post("/v1/admin/lifecycle/runs", json={}).status_code == 401
    assert client.get("/v1/admin/lifecycle/runs", headers=headers).status_code == 403
    bad = client.post("/v1/admin/lifecycle/runs", json={"dry_run": "maybe"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    missing = client.post("/v1/admin/lifecycle/runs", json={"tenant": "nobody"}, headers=ADMIN)
    assert missing.status_code == 404

    _add(client, headers, "The boiler service is booked for March.")
    dry = _run(client, dry_run=True)
    run = _run(client, tenant="acme")
    assert dry["dry_run"] is True and run["status"] == "completed" and run["tenant"] == "acme"
    assert run["examined"] == 1 and run["trigger"] == "admin"
    listed = client.get("/v1/admin/lifecycle/runs", headers=ADMIN).json()["items"]
    assert [r["id"] for r in listed] == [run["id"], dry["id"]]  # newest first
    one = client.get(f"/v1/admin/lifecycle/runs/{run['id']}", headers=ADMIN)
    assert one.status_code == 200 and one.json()["id"] == run["id"]
    unknown = client.get(
        "/v1/admin/lifecycle/runs/00000000-0000-0000-0000-000000000000", headers=ADMIN
    )
    assert unknown.status_code == 404


def test_consolidation_is_visible_and_undone_by_deleting_a_source(
    client: TestClient, headers: dict[str, str]
) -> None:
    sources = [_add(client, headers, text) for text in DUPLICATES]
    other = _add(client, headers, "The team offsite moved to the lake house in June.")
    run = _run(client)
    assert run["merged"] == 3 and run["consolidated"] == 1

    first = client.get(f"/v1/memories/{sources[0]}", headers=headers).json()
    merged_id = first["superseded_by"]
    assert merged_id and first["content"] == DUPLICATES[0]  # the source is still readable as it was
    merged = client.get(f"/v1/memories/{merged_id}", headers=headers).json()
    assert merged["content"] == DUPLICATES[0] and merged["metadata"]["consolidated_from"] == 3
    links = client.get(f"/v1/memories/{merged_id}/links", headers=headers).json()["links"]
    assert sorted(link["other_id"] for link in links) == sorted(sources)
    assert {link["relation"] for link in links} == {"consolidates"}
    history = client.get(f"/v1/memories/{sources[1]}/history", headers=headers).json()["events"]
    assert history[-1]["event"] == "consolidated" and history[-1]["actor"] == "lifecycle"

    hits = client.post(
        "/v1/search", json={"query": "sister Lisbon violin", "limit": 5}, headers=headers
    ).json()["results"]
    ids = [h["memory"]["id"] for h in hits]
    assert ids[0] == merged_id and not set(sources) & set(ids)  # served once, by the merged one
    assert other in ids or len(ids) < 5

    assert client.delete(f"/v1/memories/{sources[0]}", headers=headers).status_code == 204
    assert client.get(f"/v1/memories/{merged_id}", headers=headers).status_code == 404
    for source in sources[1:]:
        assert client.get(f"/v1/memories/{source}", headers=headers).json()["superseded_by"] is None
    hits = client.post(
        "/v1/search",
        json={"query": "sister Lisbon violin", "limit": 5, "channels": ["keyword"]},
        headers=headers,
    ).json()["results"]
    assert set(sources[1:]) <= {h["memory"]["id"] for h in hits}


def test_contradictions_are_linked_newest_first(
    client: TestClient, headers: dict[str, str]
) -> None:
    # with supersession on (the default) the newer memory replaces the older one at write
    # time (tests/e2e/test_supersession.py); off, the lifecycle only flags the contradiction
    policy = {"supersession": False}
    url = "/v1/admin/tenants/acme/lifecycle-policy"
    assert client.put(url, json=policy, headers=ADMIN).status_code == 200
    old = _add(
        client,
        headers,
        "My favorite restaurant is Chez Panisse.",
        occurred_at="2024-01-01T00:00:00Z",
    )
    new = _add(
        client, headers, "My favorite restaurant is Nopa now.", occurred_at="2025-01-01T00:00:00Z"
    )
    assert _run(client)["contradictions"] == 1
    links = client.get(f"/v1/memories/{old}/links", headers=headers).json()["links"]
    assert [(lk["relation"], lk["memory_id"], lk["other_id"]) for lk in links] == [
        ("contradicts", new, old)
    ]
    assert (
        links[0]["detail"]["value"] == "nopa"
        and links[0]["detail"]["previous_value"] == "chez panisse"
    )


def test_tenant_policy_is_validated_and_obeyed(client: TestClient, headers: dict[str, str]) -> None:
    url = "/v1/admin/tenants/acme/lifecycle-policy"
    assert client.get(url, headers=headers).status_code == 403
    default = client.get(url, headers=ADMIN).json()
    assert default["consolidation"]["enabled"] is True and default["half_life_days"] == 30
    for bad in ({"half_life_days": -1}, {"tiers": {"hot": 0.1, "warm": 0.5}}, {"nonsense": 1}):
        response = client.put(url, json=bad, headers=ADMIN)
        assert response.status_code == 422, bad
    saved = client.put(
        url, json={"consolidation": {"enabled": False}, "half_life_days": 7}, headers=ADMIN
    )
    assert saved.status_code == 200 and saved.json()["half_life_days"] == 7
    assert client.get(url, headers=ADMIN).json()["consolidation"]["enabled"] is False
    for text in DUPLICATES:
        _add(client, headers, text)
    assert _run(client)["merged"] == 0
    assert (
        client.put("/v1/admin/tenants/nobody/lifecycle-policy", json={}, headers=ADMIN).status_code
        == 404
    )
