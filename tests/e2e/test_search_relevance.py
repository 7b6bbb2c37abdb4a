"""``relevance`` on every hit, ``min_relevance`` on search, and what explain says about the
adaptive weights and the feedback pass."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

TURNS = [
    ("Melanie", "I signed up for a pottery class at the community centre."),
    ("Caroline", "That's wonderful! What will you make in the pottery class?"),
    ("Melanie", "A clay bowl for my kids, they love painting pottery."),
    ("Caroline", "I went to an LGBTQ support group meeting yesterday."),
    ("Melanie", "The weather at the lake was lovely for camping."),
    ("Caroline", "My grandma gave me a necklace from Sweden."),
]
FILLER = [
    ("Melanie" if i % 2 else "Caroline", f"Note {i}: the {thing} was {how} today.")
    for i, (thing, how) in enumerate(
        (t, h)
        for t in ("bus", "coffee", "garden", "movie", "dinner", "meeting")
        for h in ("late", "fine", "noisy")
    )
]


def _seed(client: TestClient, headers: dict[str, str]) -> list[str]:
    memories = [
        {
            "content": f"{speaker}: {text}",
            "user_id": "u1",
            "metadata": {"speaker": speaker},
            "occurred_at": f"2023-05-08T13:{i:02d}:00Z",
        }
        for i, (speaker, text) in enumerate(TURNS + FILLER)
    ]
    response = client.post("/v1/memories/batch", json={"memories": memories}, headers=headers)
    assert response.status_code == 201
    return list(response.json()["ids"])[: len(TURNS)]


def _search(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/search", json={"user_id": "u1", **body}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_every_hit_has_a_relevance_and_min_relevance_filters(
    client: TestClient, headers: dict[str, str]
) -> None:
    ids = _seed(client, headers)
    body = _search(client, headers, query="What did Melanie make in the pottery class?", limit=6)
    relevances = [r["relevance"] for r in body["results"]]
    assert body["results"][0]["memory"]["id"] in ids[:3]
    assert all(0.0 <= r <= 1.0 for r in relevances)
    assert relevances[0] > min(relevances)

    cut = sorted(relevances)[len(relevances) // 2]
    kept = _search(
        client,
        headers,
        query="What did Melanie make in the pottery class?",
        limit=6,
        min_relevance=cut,
    )
    expected = [r["memory"]["id"] for r in body["results"] if r["relevance"] >= cut]
    assert [r["memory"]["id"] for r in kept["results"]] == expected
    assert 0 < len(expected) < len(relevances)

    # "is anything relevant at all?": nothing reaches certainty, so the answer is empty
    assert _search(client, headers, query="pottery", min_relevance=0.99)["results"] == []
    assert _search(client, headers, query="pottery", min_relevance=0)["results"]


def test_min_relevance_out_of_range_is_a_problem(
    client: TestClient, headers: dict[str, str]
) -> None:
    for bad in (-0.1, 1.5, "0.5", None, True):
        response = client.post(
            "/v1/search", json={"query": "pottery", "min_relevance": bad}, headers=headers
        )
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")


def test_explain_shows_the_weights_why_and_what_feedback_added(
    client: TestClient, headers: dict[str, str]
) -> None:
    _seed(client, headers)
    body = _search(
        client,
        headers,
        query="What did Melanie make in the pottery class yesterday?",
        explain=True,
    )
    adaptation = body["adaptation"]
    assert adaptation["form"] == "question"
    assert set(body["weights"]) == {"semantic", "keyword", "temporal", "graph"}
    assert any("time" in r for r in adaptation["reasons"]["temporal"])
    assert adaptation["feedback"]["speaker"] >= 1  # Melanie's own turns
    assert any("feedback" in r["explanation"] for r in body["results"])
    assert _search(client, headers, query="pottery")["adaptation"] is None  # explain only


def test_a_whole_dialogue_as_the_query(client: TestClient, headers: dict[str, str]) -> None:
    ids = _seed(client, headers)
    history = "\n".join(f"{s}: {t}" for s, t in TURNS[3:]) + "\n" + "x " * 3000
    dialogue = history + "\nCaroline: What did you make for your kids in the class?"
    assert len(dialogue) > 6000
    body = _search(client, headers, query=dialogue, limit=3, explain=True)
    assert body["adaptation"]["form"] == "dialogue"
    assert [p["role"] for p in body["adaptation"]["parts"]] == ["focus", "context"]
    assert body["results"][0]["memory"]["id"] in ids[:3]  # the pottery-class turns
