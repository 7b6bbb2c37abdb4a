"""``MnemonixSession`` and ``recall_tool`` against the app in-process (SQLite and
PostgreSQL): items round-trip exactly and in order, limits, pop and clear, large items,
refused items writing nothing, a real ``Runner`` run on the Agents SDK's scripted model."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import Agent, Runner, set_tracing_disabled
from agents.memory import Session, SessionSettings
from agents.testing import ScriptedModel, assistant_message, function_call

from mnemonix_client import AsyncMnemonix, Mnemonix, ValidationFailed
from mnemonix_client.openai_agents import MnemonixSession, recall_tool

Clients = tuple[Mnemonix, AsyncMnemonix]

ITEMS: list[Any] = [
    {"role": "user", "content": "I'm allergic to peanuts"},
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Noted.", "annotations": []}],
    },
    {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": "ü"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "nothing found"},
    {"role": "user", "content": [{"type": "input_text", "text": "Thanks!"}]},
]


def test_items_round_trip_in_order(tenant_clients: Clients) -> None:
    async def scenario() -> None:
        session = MnemonixSession("s1", user_id="ann", agent_id="chef", client=tenant_clients[1])
        assert isinstance(session, Session)  # the Agents SDK's protocol
        assert await session.get_items() == []
        await session.add_items(ITEMS[:2])
        await session.add_items(ITEMS[2:])
        assert await session.get_items() == ITEMS
        assert await session.get_items(limit=2) == ITEMS[-2:]
        assert await session.get_items(limit=0) == []
        limited = MnemonixSession(
            "s1", user_id="ann", agent_id="chef", client=tenant_clients[1],
            session_settings=SessionSettings(limit=3),
        )  # fmt: skip
        assert await limited.get_items() == ITEMS[-3:]
        other = MnemonixSession("s2", user_id="ann", agent_id="chef", client=tenant_clients[1])
        assert await other.get_items() == []

        assert await session.pop_item() == ITEMS[-1]
        assert await session.get_items() == ITEMS[:-1]
        await session.clear_session()
        assert await session.get_items() == [] and await session.pop_item() is None

    asyncio.run(scenario())


def test_turns_are_memories_of_the_session(tenant_clients: Clients) -> None:
    session = MnemonixSession("s1", user_id="ann", client=tenant_clients[1])
    asyncio.run(session.add_items(ITEMS))
    mx = tenant_clients[0]
    memories = mx.memories.list(session_id="s1").items
    assert [m.content for m in memories] == [
        "I'm allergic to peanuts",
        "Noted.",
        'lookup({"q": "ü"})',
        "nothing found",
        "Thanks!",
    ]
    assert {(m.user_id, m.session_id) for m in memories} == {("ann", "s1")}
    assert [m.metadata["openai_agents.kind"] for m in memories] == [
        "user", "assistant", "function_call", "function_call_output", "user",
    ]  # fmt: skip
    assert mx.search("peanut allergy", user_id="ann").results[0].memory.id == memories[0].id
    # a plain memory with the same session id is not a turn
    mx.memories.add("Ann's note", user_id="ann", session_id="s1")
    assert asyncio.run(session.get_items()) == ITEMS


def test_large_items_and_refused_items(tenant_clients: Clients) -> None:
    async def scenario() -> None:
        session = MnemonixSession("s1", client=tenant_clients[1])
        large = {"type": "function_call_output", "call_id": "c", "output": "é" * 12_000}
        await session.add_items([large])  # its JSON is too large for metadata: kept as content
        assert await session.get_items() == [large]
        huge = {"role": "user", "content": "x" * 40_000}
        with pytest.raises(ValidationFailed):
            await session.add_items([{"role": "user", "content": "fine"}, huge])
        assert await session.get_items() == [large]  # nothing of the refused call was written
        many = [{"role": "user", "content": f"turn {i}"} for i in range(501)]
        await session.add_items(many)  # two batches, order kept
        assert await session.get_items() == [large, *many]

    asyncio.run(scenario())


def test_a_runner_keeps_its_history_and_recalls_across_sessions(tenant_clients: Clients) -> None:
    set_tracing_disabled(True)
    client = tenant_clients[1]

    async def scenario() -> None:
        monday = MnemonixSession("monday", user_id="ann", client=client)
        agent = Agent(name="a", model=ScriptedModel([[assistant_message("Noted.")]]))
        await Runner.run(agent, "I'm allergic to peanuts", session=monday)
        history = await monday.get_items()
        assert [json.loads(json.dumps(i)).get("role") for i in history] == ["user", "assistant"]

        friday = MnemonixSession("friday", user_id="ann", client=client)
        model = ScriptedModel(
            [
                [function_call("recall_memories", {"query": "allergic"}, call_id="c1")],
                [assistant_message("No satay then.")],
            ]
        )
        agent = Agent(name="a", model=model, tools=[friday.recall_tool()])
        result = await Runner.run(agent, "What's for dinner?", session=friday)
        assert result.final_output == "No satay then."
        outputs = [i for i in await friday.get_items() if i.get("type") == "function_call_output"]
        assert "allergic to peanuts" in str(outputs[0]["output"])  # type: ignore[typeddict-item]
        # the second model call saw the first session's memory through the tool
        assert "allergic to peanuts" in json.dumps(model.calls[1].input)
        # the running session's own turns are left out of the recall
        assert "What's for dinner" not in str(outputs[0]["output"])  # type: ignore[typeddict-item]

        # the tool searches only its own user's memories
        bo = recall_tool(client, user_id="bo")
        assert await bo.on_invoke_tool(_context(), '{"query": "allergic"}') == "No memories found."  # type: ignore[arg-type]

    asyncio.run(scenario())


def _context() -> Any:
    from agents.tool_context import ToolContext

    return ToolContext(
        context=None, tool_name="recall_memories", tool_call_id="t", tool_arguments="{}"
    )
