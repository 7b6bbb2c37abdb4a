"""The SDK's expiry fields and the tenant write policy, against the app in-process."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient

from mnemonix_client import NEVER, AsyncMnemonix, Mnemonix, ValidationFailed, WritePolicy
from sdk.tests.server.inprocess import InProcess
from tests.helpers import ADMIN_KEY


def _client(client: TestClient, key: str) -> Mnemonix:
    return Mnemonix(api_key=key, base_url="http://testserver", transport=InProcess(client))


def test_expiry_and_write_policy_through_the_sdk(app_client: tuple[TestClient, str]) -> None:
    client, key = app_client
    with _client(client, ADMIN_KEY) as admin_client, _client(client, key) as mx:
        admin = admin_client.admin
        default = admin.get_write_policy("sdk")
        assert (default.secrets, default.pii, default.tag_ttl) == ("redact", False, [])
        policy = admin.set_write_policy(
            "sdk", {"secrets": "redact", "pii": True, "default_ttl_seconds": {"session": 600}}
        )
        assert policy.pii is True and policy.default_ttl_seconds["session"] == 600

        memory = mx.memories.add("mail ann@example.com", session_id="s1")
        assert memory.content == "mail [REDACTED:email]" and memory.expires_at is not None
        short = mx.memories.add("scratch note", ttl_seconds=30)
        assert short.expires_at is not None
        cleared = mx.memories.update(short.id, expires_at=NEVER)
        assert cleared.expires_at is None
        try:
            mx.memories.add("x", ttl_seconds=5, expires_at=short.created_at)
        except ValidationFailed as error:
            assert "mutually exclusive" in str(error.problem)
        else:
            raise AssertionError("both expiry fields were accepted")

        admin.set_write_policy("sdk", WritePolicy(secrets="allow"))

        async def read_async() -> WritePolicy:
            transport = httpx.ASGITransport(app=client.app)
            async with AsyncMnemonix(
                api_key=ADMIN_KEY, base_url="http://testserver", transport=transport
            ) as amx:
                return await amx.admin.get_write_policy("sdk")

        assert asyncio.run(read_async()).secrets == "allow"
