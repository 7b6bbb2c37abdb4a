"""After a restart every memory is still there and the same search gives the same ranking."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from tests.helpers import auth, create_tenant_key, test_settings

FACTS = [
    "Caroline went to the LGBTQ support group on Sunday",
    "Melanie painted a sunrise over the lake last year",
    "Jon lost his job as a banker and opened a dance studio",
    "Gina launched an online clothing store",
    "Caroline is researching adoption agencies",
    "Melanie signed up for a pottery class",
]
QUERIES = [
    "support group",
    "painting of a lake at dawn",
    "dance studio",
    "pottery",
    "adoption",
    "what did Jon finally do?",
    "when do salsa lessons start?",
]


def _snapshot(client: TestClient, headers: dict[str, str]) -> tuple[list[object], list[object]]:
    listed = client.get("/v1/memories", params={"limit": 100}, headers=headers).json()["items"]
    rankings = [
        [
            (r["memory"]["id"], round(r["score"], 9), sorted(r["channels"]))
            for r in client.post(
                "/v1/search",
                json={"query": q, "limit": 10, "reference_time": "2024-01-01T00:00:00Z"},
                headers=headers,
            ).json()["results"]
        ]
        for q in QUERIES
    ]
    return [(m["id"], m["content"], m["version"]) for m in listed], rankings


def test_restart_keeps_memories_and_rankings(database_url: str, tmp_path: Path) -> None:
    # a generous channel budget: this test compares rankings across a rebuild, and a channel
    # cut off by its time budget on a loaded machine would change a ranking for no fault of it
    settings = test_settings(database_url, tmp_path, search={"channel_budget_ms": 60_000})
    key = create_tenant_key(database_url, "acme")
    headers = auth(key)
    with TestClient(create_app(settings)) as client:
        for i, fact in enumerate(FACTS):
            client.post(
                "/v1/memories",
                json={"content": fact, "occurred_at": f"2023-0{i + 1}-10T10:00:00Z"},
                headers=headers,
            ).raise_for_status()
        # one conversation sent as a batch: same event time, so only the order tells the
        # neighbours apart; a rebuild must place them exactly as they were sent
        turns = [
            "Jon: Guess what, I finally did it!",
            "Gina: Did what? The studio?",
            "Jon: Yes, the lease for the dance studio is signed",
            "Gina: Wow, when do lessons start?",
            "Jon: Next Monday, salsa first",
        ]
        client.post(
            "/v1/memories/batch",
            json={
                "memories": [
                    {"content": t, "user_id": "chat", "occurred_at": "2023-08-01T18:00:00Z"}
                    for t in turns * 8
                ]
            },
            headers=headers,
        ).raise_for_status()
        doomed = client.post(
            "/v1/memories", json={"content": "temporary note about Gina"}, headers=headers
        ).json()
        client.delete(f"/v1/memories/{doomed['id']}", headers=headers).raise_for_status()
        before = _snapshot(client, headers)
    assert len(before[0]) == len(FACTS) + 40
    with TestClient(create_app(settings)) as client:
        after = _snapshot(client, headers)
    assert after == before
