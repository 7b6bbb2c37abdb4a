"""The SDK against the app in-process (sync and async), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from mnemonix_client import (
    AsyncMnemonix,
    Conflict,
    Mnemonix,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from sdk.tests.server.inprocess import InProcess


def _sync(client: TestClient, key: str) -> Mnemonix:
    return Mnemonix(api_key=key, base_url="http://testserver", transport=InProcess(client))


def test_sync_client_round_trip(app_client: tuple[TestClient, str]) -> None:
    client, key = app_client
    with _sync(client, key) as mx:
        memory = mx.memories.add(
            "Ann is allergic to peanuts",
            user_id="ann",
            metadata={"source": "chat"},
            occurred_at=datetime(2024, 3, 1, tzinfo=UTC),
        )
        assert memory.user_id == "ann" and memory.metadata == {"source": "chat"}
        many = mx.memories.add_many([{"content": f"note {i}", "user_id": "ann"} for i in range(7)])
        assert [m.content for m in many] == [f"note {i}" for i in range(7)]
        assert mx.memories.get(memory.id).content == "Ann is allergic to peanuts"
        updated = mx.memories.update(
            memory.id, content="Ann is allergic to peanuts and shellfish", version=1
        )
        assert updated.version == 2
        with pytest.raises(Conflict):
            mx.memories.update(memory.id, pinned=True, version=1)
        result = mx.search(
            "peanut allergy",
            user_id="ann",
            explain=True,
            reference_time=datetime(2024, 4, 1, tzinfo=UTC),
        )
        assert result.results[0].memory.id == memory.id
        assert result.results[0].explanation and "keyword" in result.results[0].explanation
        assert "total" in result.timings_ms
        assert [e.event for e in mx.memories.history(memory.id)] == ["created", "updated"]
        assert len(list(mx.memories.iter(user_id="ann", page_size=3))) == 8
        assert len(mx.memories.list(user_id="ann", metadata={"source": "chat"}).items) == 1
        mx.memories.delete(memory.id)
        with pytest.raises(NotFound) as missing:
            mx.memories.get(memory.id)
        assert missing.value.status == 404 and missing.value.request_id
        with pytest.raises(ValidationFailed) as invalid:
            mx.memories.add("")
        assert invalid.value.errors


def test_bad_key_is_unauthorized(app_client: tuple[TestClient, str]) -> None:
    client, _ = app_client
    with _sync(client, "mnx_wrong") as mx, pytest.raises(Unauthorized):
        mx.search("anything")


def test_async_client(app_client: tuple[TestClient, str]) -> None:
    client, key = app_client

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=client.app)
        async with AsyncMnemonix(
            api_key=key, base_url="http://testserver", transport=transport
        ) as mx:
            memory = await mx.memories.add("The wifi password is on the fridge", user_id="bo")
            await mx.memories.add_many([{"content": "Bo likes jazz", "user_id": "bo"}])
            found = await mx.search("where is the wifi password", user_id="bo")
            assert found.results[0].memory.id == memory.id
            assert [m.content async for m in mx.memories.iter(user_id="bo", page_size=1)] == [
                "The wifi password is on the fridge",
                "Bo likes jazz",
            ]
            await mx.memories.delete(memory.id)
            with pytest.raises(NotFound):
                await mx.memories.get(memory.id)

    asyncio.run(scenario())
