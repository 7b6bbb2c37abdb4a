"""Updating or deleting a memory is reflected in every channel at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channels.registry import channel_names

REF = "2023-06-01T12:00:00Z"
QUERIES = {
    "semantic": "Zoltan's harpsichord recital",
    "keyword": "Zoltan harpsichord recital",
    "graph": "What did Zoltan play at the recital?",
    "temporal": "What happened on 14 May 2023 with the harpsichord recital?",
}


def _found(client: TestClient, headers: dict[str, str], channel: str, memory_id: str) -> bool:
    body = client.post(
        "/v1/search",
        json={"query": QUERIES[channel], "channels": [channel], "limit": 50, "reference_time": REF},
        headers=headers,
    ).json()
    return memory_id in [r["memory"]["id"] for r in body["results"]]


def test_update_and_delete_reach_every_channel(client: TestClient, headers: dict[str, str]) -> None:
    assert set(QUERIES) == set(channel_names())
    for i in range(5):
        client.post(
            "/v1/memories",
            json={
                "content": f"filler note {i} about groceries",
                "occurred_at": "2023-01-0{i + 1}T10:00:00Z",
            },
            headers=headers,
        )
    memory = client.post(
        "/v1/memories",
        json={
            "content": "Zoltan played the harpsichord at his recital on 14 May 2023",
            "occurred_at": "2023-05-14T18:00:00Z",
            "metadata": {"speaker": "Zoltan"},
        },
        headers=headers,
    ).json()
    for channel in channel_names():
        assert _found(client, headers, channel, memory["id"]), channel

    patched = client.patch(
        f"/v1/memories/{memory['id']}",
        json={
            "content": "Quentin repaired an old bicycle",
            "occurred_at": "2022-01-03T09:00:00Z",
            "metadata": {"speaker": "Quentin"},
        },
        headers=headers,
    )
    assert patched.status_code == 200
    for channel in ("keyword", "graph", "temporal"):
        assert not _found(client, headers, channel, memory["id"]), channel
    body = client.post(
        "/v1/search", json={"query": "Quentin bicycle repair", "explain": True}, headers=headers
    ).json()
    top = body["results"][0]
    assert top["memory"]["id"] == memory["id"]
    assert {"semantic", "keyword", "graph"} <= set(top["channels"])
    assert "bicycl" in top["explanation"]["keyword"]["matched_terms"]

    client.delete(f"/v1/memories/{memory['id']}", headers=headers)
    for channel in channel_names():
        assert not _found(client, headers, channel, memory["id"]), channel
    assert client.post("/v1/search", json={"query": "Quentin bicycle"}, headers=headers).json()[
        "results"
    ] == [] or all(
        r["memory"]["id"] != memory["id"]
        for r in client.post(
            "/v1/search", json={"query": "Quentin bicycle"}, headers=headers
        ).json()["results"]
    )


def test_explanations_name_terms_entities_path_and_window(
    client: TestClient, headers: dict[str, str]
) -> None:
    turns = [
        ("Caroline: I went to the LGBTQ support group yesterday.", "2023-05-08T13:00:00Z"),
        ("Melanie: That's great! How did the support group go?", "2023-05-08T13:01:00Z"),
        ("Caroline: I met Ximena there, she runs a pottery studio.", "2023-05-08T13:02:00Z"),
        ("Melanie: Ximena's pottery studio hosts a summer workshop.", "2023-06-20T10:00:00Z"),
    ]
    ids = [
        client.post(
            "/v1/memories",
            json={
                "content": c,
                "occurred_at": t,
                "user_id": "u",
                "metadata": {"speaker": c.split(":")[0]},
            },
            headers=headers,
        ).json()["id"]
        for c, t in turns
    ]
    body = client.post(
        "/v1/search",
        json={
            "query": "When did Caroline go to the support group on 7 May 2023?",
            "user_id": "u",
            "explain": True,
            "reference_time": "2023-07-01T00:00:00Z",
        },
        headers=headers,
    ).json()
    ranked = [r["memory"]["id"] for r in body["results"]]
    assert ids[0] in ranked[:2]
    why = body["results"][ranked.index(ids[0])]["explanation"]
    assert {"support", "group"} <= set(why["keyword"]["matched_terms"])
    assert "Caroline" in why["graph"]["matched_entities"]
    assert why["temporal"]["query_window"][0].startswith("2023-05-07")
    assert why["temporal"]["matched"].startswith("mentioned")  # "yesterday" in a message of 8 May
    assert body["weights"]["temporal"] > 0
