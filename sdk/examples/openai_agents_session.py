"""An OpenAI Agents SDK agent whose conversation lives in Mnemonix, and which recalls what
the user said in an earlier conversation. Run it while `make run` is serving:

    MNEMONIX_API_KEY=$(cat data/default.key) python sdk/examples/openai_agents_session.py

(`MNEMONIX_URL` points it at another server.) No model or network is needed: the agent
runs on the Agents SDK's own scripted test model, which calls the recall tool, then answers.
"""

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from agents import Agent, Runner, set_tracing_disabled
from agents.memory import Session
from agents.testing import ScriptedModel, assistant_message, function_call

from mnemonix_client import AsyncMnemonix
from mnemonix_client.openai_agents import MnemonixSession

KEY_FILE = Path("data/default.key")


async def turns(session: Session) -> list[dict[str, Any]]:
    """The session's items as plain dicts (the Agents SDK types them as a union)."""
    return [dict(item) for item in await session.get_items()]


async def main() -> None:
    set_tracing_disabled(True)  # no trace export: nothing leaves this machine
    api_key = os.environ.get("MNEMONIX_API_KEY") or KEY_FILE.read_text().strip()
    user = f"ann-{uuid.uuid4().hex[:6]}"  # a fresh user, so reruns start clean
    async with AsyncMnemonix(api_key=api_key, base_url=os.environ.get("MNEMONIX_URL")) as mx:
        # Monday's conversation: the user mentions an allergy.
        monday = MnemonixSession("monday", user_id=user, client=mx)
        model = ScriptedModel([[assistant_message("Noted: no peanuts, no shellfish.")]])
        agent = Agent(name="assistant", model=model)
        await Runner.run(agent, "I'm allergic to peanuts and shellfish.", session=monday)
        print("monday:", [turn.get("role") for turn in await turns(monday)])

        # Friday, a new conversation: the agent recalls Monday through the tool.
        friday: Session = MnemonixSession("friday", user_id=user, client=mx)
        assert isinstance(friday, MnemonixSession)
        model = ScriptedModel(
            [
                [
                    function_call(
                        "recall_memories", {"query": "what is the user allergic to?"}, call_id="c1"
                    )
                ],
                [assistant_message("Let's skip the satay: you're allergic to peanuts.")],
            ]
        )
        agent = Agent(name="assistant", model=model, tools=[friday.recall_tool()])
        result = await Runner.run(agent, "Plan a dinner for me.", session=friday)
        recalled = [
            t["output"] for t in await turns(friday) if t.get("type") == "function_call_output"
        ]
        print("recalled:", str(recalled[0]).splitlines()[0])
        print("answer:", result.final_output)

        last = await friday.pop_item()  # undo the last turn
        print("popped:", dict(last).get("role") if last else None)
        await monday.clear_session()
        await friday.clear_session()
        print("cleared:", len(await turns(monday)) + len(await turns(friday)))


if __name__ == "__main__":
    asyncio.run(main())
