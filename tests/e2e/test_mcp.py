"""The MCP server, driven by the ``mcp`` package's client: over streamable HTTP at ``/mcp`` of a
real server process, and over stdio (``python -m service.cli mcp``) both ways (embedded store,
and a running server through the SDK). Every tool, tenant isolation, bad keys, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.session import ClientSession

from tests.e2e.mcp_client import call, http_session, refused, stdio_session
from tests.helpers import auth, create_tenant_key
from tests.server import running_server

TOOLS = {"remember", "recall", "forget", "update", "get", "list", "history"}
HASH = {"MNEMONIX_EMBEDDER": "hash", "MNEMONIX_LIFECYCLE__ENABLED": "false"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, Path]]:
    """A real ``mnemonix serve`` (SQLite, hash embedder), the bootstrap tenant's key and a
    second tenant's key."""
    tmp = tmp_path_factory.mktemp("mcp")
    with running_server(tmp, HASH) as base:
        key = (tmp / "data" / "default.key").read_text().strip()
        other = create_tenant_key(f"sqlite:///{tmp / 'mnemonix.db'}", "other")
        yield base, key, other, tmp


async def _every_tool(session: ClientSession) -> None:
    listed = (await session.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 40
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"

    stored = await call(
        session,
        "remember",
        memories=[
            {
                "content": "Ann is allergic to peanuts and shellfish",
                "user_id": "ann",
                "session_id": "s1",
                "metadata": {"speaker": "Ann"},
                "occurred_at": "2026-05-01T10:00:00Z",
            },
            {"content": "Our team uses PostgreSQL for billing", "user_id": "ann"},
        ],
    )
    allergy, billing = stored["ids"]
    assert [m["content"] for m in stored["memories"]][1] == "Our team uses PostgreSQL for billing"

    recalled = await call(
        session, "recall", query="peanuts shellfish allergy", user_id="ann", max_tokens=60
    )
    assert recalled["tokens"] <= 60 and allergy in recalled["memory_ids"]
    assert "[2026-05-01 10:00] Ann: Ann is allergic to peanuts" in recalled["context"]
    assert recalled["hits"][0]["memory"]["id"] == allergy
    as_json = await call(session, "recall", query="billing", max_tokens=200, format="json")
    items = json.loads(as_json["context"])  # chronological: the allergy happened first
    assert items[-1] == {
        "date": items[-1]["date"],
        "speaker": "ann",
        "text": "Our team uses PostgreSQL for billing",
    }

    got = await call(session, "get", memory_id=allergy)
    assert got["content"] == "Ann is allergic to peanuts and shellfish" and got["version"] == 1
    updated = await call(
        session, "update", memory_id=allergy, content="Ann is allergic to peanuts", version=1
    )
    assert updated["version"] == 2 and updated["content"] == "Ann is allergic to peanuts"
    conflict = await refused(session, "update", memory_id=allergy, pinned=True, version=1)
    assert conflict == f"Conflict: Memory {allergy} is at version 2, not 1."

    page = await call(session, "list", user_id="ann", limit=1)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await call(session, "list", user_id="ann", limit=5, cursor=page["next_cursor"])
    assert {page["items"][0]["id"], *(m["id"] for m in rest["items"])} == {allergy, billing}
    only = await call(session, "list", metadata={"speaker": "Ann"})
    assert [m["id"] for m in only["items"]] == [allergy]

    events = await call(session, "history", memory_id=allergy)
    assert [e["event"] for e in events["events"]] == ["created", "updated"]

    assert await call(session, "forget", memory_id=billing) == {"deleted": billing}
    gone = await refused(session, "get", memory_id=billing)
    assert gone == f"Not found: No memory {billing}."

    # supersession and expiry, as the REST writes take them
    made = await call(
        session,
        "remember",
        memories=[
            {"content": "Zed's locker is number 12", "user_id": "zed"},
            {"content": "Zed's locker is number 40", "user_id": "zed", "ttl_seconds": 3600},
        ],
    )
    older, newer = made["ids"]
    assert made["memories"][1]["expires_at"] is not None
    replaced = await call(session, "update", memory_id=newer, supersedes=[older])
    assert replaced["id"] == newer
    assert (await call(session, "get", memory_id=older))["superseded_by"] == newer
    kept = await call(session, "update", memory_id=newer, ttl_seconds=7200)
    assert kept["expires_at"] != made["memories"][1]["expires_at"]

    # bad input is a tool error, and the session goes on
    blank = await refused(session, "remember", memories=[{"content": "   "}])
    assert "must contain a non-whitespace character" in blank
    assert "max_tokens" in await refused(session, "recall", query="x", max_tokens=0)
    assert "cursor" in await refused(session, "list", cursor="not-a-cursor")
    assert (await call(session, "get", memory_id=allergy))["id"] == allergy


def test_streamable_http_every_tool(server: tuple[str, str, str, Path]) -> None:
    base, key, _, _ = server

    async def run() -> None:
        async with http_session(base, key) as session:
            await _every_tool(session)

    asyncio.run(run())


def test_tool_errors_carry_the_rest_problem(server: tuple[str, str, str, Path]) -> None:
    base, key, _, _ = server
    missing = "00000000-0000-4000-8000-000000000000"
    problem = httpx.get(f"{base}/v1/memories/{missing}", headers=auth(key)).json()
    bad_cursor = httpx.get(
        f"{base}/v1/memories", params={"cursor": "not-a-cursor"}, headers=auth(key)
    ).json()
    invalid = httpx.post(f"{base}/v1/memories", json={"content": ""}, headers=auth(key)).json()

    async def run() -> None:
        async with http_session(base, key) as session:
            text = await refused(session, "get", memory_id=missing)
            assert text == f"{problem['title']}: {problem['detail']}"
            text = await refused(session, "list", cursor="not-a-cursor")
            assert text == f"{bad_cursor['title']}: {bad_cursor['detail']}"
            # arguments the input schema refuses: the REST validation problem, per field
            text = await refused(session, "remember", memories=[{"content": ""}])
            assert text.startswith(f"{invalid['title']}: {invalid['detail']} ")
            assert "memories.0.content" in text
            text = await refused(session, "get", memory_id="not-an-id")
            assert text.startswith(f"{invalid['title']}: {invalid['detail']} memory_id: ")

    asyncio.run(run())


def test_a_second_tenant_sees_nothing_of_the_first(server: tuple[str, str, str, Path]) -> None:
    base, key, other, _ = server

    async def run() -> None:
        async with http_session(base, key) as mine:
            stored = await call(
                mine, "remember", memories=[{"content": "the vault code is 4711", "user_id": "u"}]
            )
        secret = stored["ids"][0]
        async with http_session(base, other) as theirs:
            assert (await call(theirs, "list"))["items"] == []
            recalled = await call(theirs, "recall", query="vault code 4711", max_tokens=100)
            assert recalled["memory_ids"] == [] and recalled["context"] == ""
            for tool in ("get", "history", "forget"):
                text = await refused(theirs, tool, memory_id=secret)
                assert text == f"Not found: No memory {secret}."
            text = await refused(theirs, "update", memory_id=secret, content="mine now")
            assert text.startswith("Not found")
        async with http_session(base, key) as mine:
            assert (await call(mine, "get", memory_id=secret))[
                "content"
            ] == "the vault code is 4711"

    asyncio.run(run())


def test_narrower_keys_hold_through_mcp(server: tuple[str, str, str, Path]) -> None:
    """A read-only key cannot remember or forget; a key bound to one user sees only that
    user's memories and writes only as that user (the REST rules, the same messages)."""
    base, key, _, tmp = server
    database = f"sqlite:///{tmp / 'mnemonix.db'}"
    reader = create_tenant_key(database, "default", scopes=["read"])
    ann = create_tenant_key(database, "default", user_id="ann")

    async def run() -> None:
        async with http_session(base, key) as full:
            bob = await call(
                full, "remember", memories=[{"content": "bob's pin 9921", "user_id": "bob"}]
            )
        async with http_session(base, reader) as session:
            text = await refused(session, "remember", memories=[{"content": "x"}])
            assert text == "Forbidden: This key lacks the write scope."
            assert (await refused(session, "forget", memory_id=bob["ids"][0])).startswith(
                "Forbidden"
            )
            assert (await call(session, "get", memory_id=bob["ids"][0]))["user_id"] == "bob"
        async with http_session(base, ann) as session:
            mine = await call(session, "remember", memories=[{"content": "ann likes tea"}])
            assert mine["memories"][0]["user_id"] == "ann"
            items = (await call(session, "list"))["items"]
            assert {i["user_id"] for i in items} == {"ann"}
            text = await refused(session, "get", memory_id=bob["ids"][0])
            assert text == f"Not found: No memory {bob['ids'][0]}."
            recalled = await call(session, "recall", query="bob pin 9921", max_tokens=200)
            assert bob["ids"][0] not in recalled["memory_ids"]
            assert "9921" not in recalled["context"]

    asyncio.run(run())


@pytest.mark.parametrize("header", [None, "Bearer mnx_not-a-key", "Basic abc", "Bearer"])
def test_a_bad_key_is_refused_before_any_tool(
    server: tuple[str, str, str, Path], header: str | None
) -> None:
    base = server[0]
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    if header is not None:
        headers["Authorization"] = header
    response = httpx.post(f"{base}/mcp", json=initialize, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    call_tool = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "list", "arguments": {}},
    }
    assert httpx.post(f"{base}/mcp", json=call_tool, headers=headers).status_code == 401


def test_the_mcp_client_with_a_bad_key_fails_to_connect(
    server: tuple[str, str, str, Path],
) -> None:
    async def run() -> None:
        async with http_session(server[0], "mnx_not-a-key"):
            pass

    with pytest.raises(Exception):  # noqa: B017 - the client's own error type varies by version
        asyncio.run(run())


def test_stdio_embedded_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.db'}"

    async def run() -> None:
        async with stdio_session(["--database-url", url, "--tenant", "me"], HASH) as session:
            await _every_tool(session)

    asyncio.run(run())


def test_stdio_through_a_running_server(server: tuple[str, str, str, Path]) -> None:
    base, _, other, _ = server

    async def run() -> None:
        env = {**HASH, "MNEMONIX_URL": base, "MNEMONIX_API_KEY": other}
        async with stdio_session([], env) as session:
            stored = await call(
                session, "remember", memories=[{"content": "stdio wrote this", "user_id": "x"}]
            )
            recalled = await call(session, "recall", query="stdio wrote", max_tokens=50)
            assert recalled["memory_ids"] == stored["ids"]
            assert (await call(session, "get", memory_id=stored["ids"][0]))["user_id"] == "x"
            missing = "00000000-0000-4000-8000-000000000000"
            text = await refused(session, "forget", memory_id=missing)
            assert text == f"Not found: No memory {missing}."

    asyncio.run(run())
    page = httpx.get(f"{base}/v1/memories", headers=auth(other)).json()
    assert [m["content"] for m in page["items"]] == ["stdio wrote this"]


def test_the_sdk_port_carries_the_servers_problems(server: tuple[str, str, str, Path]) -> None:
    """What ``mnemonix mcp`` does without ``--database-url``, in-process: a bad key and a
    bad value come back as the server's problem."""
    from mnemonix_client import AsyncMnemonix
    from service.mcp_server.port import ListFilter, ToolFailure
    from service.mcp_server.remote import RemotePort
    from service.schemas import MemoryUpdate

    base, key, _, _ = server

    async def run() -> None:
        async with AsyncMnemonix(api_key="mnx_not-a-key", base_url=base) as client:
            with pytest.raises(ToolFailure) as refused_key:
                await RemotePort(client).list(ListFilter(), limit=5, cursor=None)
        assert refused_key.value.message == "Unauthorized: Unknown or revoked API key."
        async with AsyncMnemonix(api_key=key, base_url=base) as client:
            port = RemotePort(client)
            with pytest.raises(ToolFailure) as refused_cursor:
                await port.list(ListFilter(), limit=5, cursor="forged")
            assert refused_cursor.value.message.startswith("Invalid input: The cursor")
            missing = uuid.UUID(int=1)
            with pytest.raises(ToolFailure) as refused_update:
                await port.update(missing, MemoryUpdate(pinned=True))
            assert refused_update.value.message == f"Not found: No memory {missing}."
        async with AsyncMnemonix(
            api_key=key, base_url="http://127.0.0.1:9", max_retries=0
        ) as client:
            with pytest.raises(ToolFailure) as unreachable:
                await RemotePort(client).get(missing)
            assert unreachable.value.message.startswith("Service unavailable")

    asyncio.run(run())


def test_the_readme_example(server: tuple[str, str, str, Path]) -> None:
    """``sdk/examples/mcp_client.py``: list the tools, remember, recall."""
    import importlib.util

    from tests.e2e.mcp_client import ROOT

    spec = importlib.util.spec_from_file_location(
        "mcp_example", ROOT / "sdk/examples/mcp_client.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    block = asyncio.run(example.main(server[0], server[1]))
    assert "ann: I am allergic to peanuts" in block


def test_a_loopback_server_refuses_other_host_names(server: tuple[str, str, str, Path]) -> None:
    """DNS rebinding: served on 127.0.0.1, /mcp answers only loopback Host and Origin headers."""
    base, key = server[0], server[1]
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {**auth(key), "Accept": "application/json, text/event-stream"}
    port = base.rsplit(":", 1)[1]
    for extra in ({"Host": f"attacker.example:{port}"}, {"Origin": "http://attacker.example"}):
        response = httpx.post(f"{base}/mcp", json=body, headers={**headers, **extra})
        assert 400 <= response.status_code < 500, extra
