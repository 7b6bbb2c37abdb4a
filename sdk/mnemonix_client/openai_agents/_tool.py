"""A ready tool: recall the user's long-term memories across sessions."""

from __future__ import annotations

from agents import FunctionTool, function_tool

from mnemonix_client.async_client import AsyncMnemonix
from mnemonix_client.models import SearchHit
from mnemonix_client.openai_agents._session import KIND

MAX_SEARCH_LIMIT = 100


def recall_tool(
    client: AsyncMnemonix,
    *,
    user_id: str,
    agent_id: str | None = None,
    limit: int = 5,
    exclude_session_id: str | None = None,
    name: str = "recall_memories",
) -> FunctionTool:
    """A function tool the model calls with a query; it answers with the best ``limit``
    memories of ``user_id`` (every session, every source), one line each, dated.

    The scope is fixed here, never taken from the model, so an agent can only recall its
    own user's memories (and the client's key confines it to one tenant).
    ``exclude_session_id`` leaves out the turns of the running session, which the model
    already sees.
    """
    fetch = min(MAX_SEARCH_LIMIT, limit * 3 if exclude_session_id else limit)

    async def recall_memories(query: str) -> str:
        """Search the user's long-term memory: facts, preferences and earlier conversations.

        Args:
            query: What to look for, in plain words (e.g. "food allergies").
        """
        result = await client.search(query, user_id=user_id, agent_id=agent_id, limit=fetch)
        hits = [
            hit
            for hit in result.results
            if exclude_session_id is None or hit.memory.session_id != exclude_session_id
        ][:limit]
        if not hits:
            return "No memories found."
        return "\n".join(_line(hit) for hit in hits)

    return function_tool(recall_memories, name_override=name)


def _line(hit: SearchHit) -> str:
    memory = hit.memory
    kind = memory.metadata.get(KIND)
    source = f", {kind}" if isinstance(kind, str) else ""
    return f"- [{memory.occurred_at:%Y-%m-%d}{source}] {memory.content}"
