"""A channel plugs in through its spec alone: registered here, in the test, it is searched,
fused, weighted by its adaptive rule and explained, with no other file changed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from channels.base import ChannelStats, Doc, Hit, Query
from channels.registry import ChannelSpec, register, unregister
from service.app import create_app
from tests.helpers import ADMIN_KEY, auth, create_tenant_key, test_settings


class PrefixChannel:
    """Finds memories with a word that starts with a query word of 4+ letters (what BM25's
    whole-token match misses): "xylo" finds "xylophone"."""

    name = "prefix"

    def __init__(self) -> None:
        self._words: dict[int, set[str]] = {}

    def upsert(self, docs: Sequence[Doc]) -> None:
        for doc in docs:
            self._words[doc.key] = set(re.findall(r"\w+", doc.content.lower()))

    def remove(self, keys: Sequence[int]) -> None:
        for key in keys:
            self._words.pop(key, None)

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._words.clear()
        self.upsert(list(docs))

    def search(self, query: Query) -> list[Hit]:
        stems = [w for w in re.findall(r"\w+", query.text.lower()) if len(w) >= 4]
        allowed = None if query.allowed is None else set(query.allowed.tolist())
        hits = []
        for key, words in self._words.items():
            if allowed is not None and key not in allowed:
                continue
            matched = sorted({w for w in words for s in stems if w.startswith(s) and w != s})
            if matched:
                hits.append(Hit(key, float(len(matched)), {"completed": matched}))
        hits.sort(key=lambda h: (-h.score, h.key))
        return hits[: query.limit]

    def stats(self) -> ChannelStats:
        return ChannelStats(len(self._words), 64 * len(self._words))


def _shouting(text: str) -> tuple[float, str] | None:
    return (3.0, "the query ends with '!'") if text.rstrip().endswith("!") else None


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    register(ChannelSpec("prefix", lambda dimension: PrefixChannel(), 0.5, boost=_shouting))
    try:
        app = create_app(test_settings(database_url, tmp_path))
        with TestClient(app, raise_server_exceptions=False) as test_client:
            test_client.database_url = database_url  # type: ignore[attr-defined]
            yield test_client
    finally:
        unregister("prefix")


def test_a_channel_registered_by_its_spec_is_searched_fused_and_explained(
    client: TestClient,
) -> None:
    headers = auth(create_tenant_key(client.database_url, "acme"))  # type: ignore[attr-defined]
    ids = client.post(
        "/v1/memories/batch",
        json={
            "memories": [
                {"content": "Zoltan plays the xylophone in a quartet"},
                {"content": "the weekly grocery list: eggs, milk"},
                {"content": "a note about the garden fence"},
            ]
        },
        headers=headers,
    ).json()["ids"]

    body = client.post(
        "/v1/search", json={"query": "xylo", "explain": True}, headers=headers
    ).json()
    top = body["results"][0]
    assert top["memory"]["id"] == ids[0]
    assert top["channels"]["prefix"]["rank"] == 1
    assert top["explanation"]["prefix"] == {"completed": ["xylophone"]}
    # its spec's default (the settings never named it), moved only by the evidence
    assert body["weights"]["prefix"] > 0
    assert all("query ends" not in r for r in body["adaptation"]["reasons"].get("prefix", []))

    alone = client.post(
        "/v1/search", json={"query": "xylo", "channels": ["prefix"]}, headers=headers
    ).json()
    assert [r["memory"]["id"] for r in alone["results"]] == [ids[0]]

    boosted = client.post(
        "/v1/search", json={"query": "xylo!", "explain": True}, headers=headers
    ).json()
    assert "x3: the query ends with '!'" in boosted["adaptation"]["reasons"]["prefix"]
    given = client.post(
        "/v1/search",
        json={"query": "xylo!", "explain": True, "weights": {"prefix": 0.25}},
        headers=headers,
    ).json()
    assert given["weights"]["prefix"] == 0.25  # a caller's weight is used as given

    stats = client.get("/v1/admin/stats", headers=auth(ADMIN_KEY)).json()
    assert stats["indexes"]["prefix"]["entries"] == 3
    assert "prefix" in stats["channels"]
