"""``context()`` and ``search(max_tokens=...)`` in the SDK, sync and async, against the app."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from mnemonix_client import AsyncMnemonix, ContextBlock, Mnemonix, ValidationFailed
from sdk.tests.server.inprocess import InProcess

FACTS = [
    {"content": "Bo is allergic to peanuts", "user_id": "bo", "metadata": {"speaker": "Bo"}},
    {"content": "Bo is allergic to peanuts", "user_id": "bo"},
    {"content": "Bo plays the trumpet in a jazz band " * 8, "user_id": "bo"},
    {"content": "Bo's sister lives in Lisbon", "user_id": "bo", "session_id": "s2"},
]


def test_sync_context_and_search_budget(app_client: tuple[TestClient, str]) -> None:
    client, key = app_client
    with Mnemonix(api_key=key, base_url="http://testserver", transport=InProcess(client)) as mx:
        mx.memories.add_many(FACTS)
        block = mx.context("what is Bo allergic to", max_tokens=40, user_id="bo")
        assert isinstance(block, ContextBlock)
        assert block.tokens <= 40 and ": Bo is allergic to peanuts" in block.context
        assert block.omitted.duplicates == 1 and block.hits is None
        with_hits = mx.context("Bo", max_tokens=500, format="markdown", include_hits=True)
        assert with_hits.hits is not None
        assert [h.memory.id for h in with_hits.hits] == with_hits.memory_ids
        assert with_hits.context.startswith("## ")
        found = mx.search("Bo", user_id="bo", max_tokens=20)
        assert found.tokens is not None and found.tokens <= 20
        assert "trumpet" not in " ".join(h.memory.content for h in found.results)
        with pytest.raises(ValidationFailed):
            mx.context("Bo", max_tokens=0)


def test_async_context(app_client: tuple[TestClient, str]) -> None:
    client, key = app_client

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=client.app)
        async with AsyncMnemonix(
            api_key=key, base_url="http://testserver", transport=transport
        ) as mx:
            await mx.memories.add_many(FACTS)
            block = await mx.context("Lisbon", max_tokens=100, format="json", user_id="bo")
            assert block.format == "json" and "Lisbon" in block.context
            found = await mx.search("Lisbon", max_tokens=10)
            assert found.tokens is not None and found.tokens <= 10

    asyncio.run(scenario())
