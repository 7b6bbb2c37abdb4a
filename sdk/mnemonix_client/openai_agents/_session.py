"""``MnemonixSession``: the OpenAI Agents SDK's ``Session`` protocol over Mnemonix."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agents.memory import SessionSettings
from agents.memory.session_settings import resolve_session_limit

from mnemonix_client._plan import arun, chunks, list_all
from mnemonix_client.async_client import AsyncMnemonix
from mnemonix_client.exceptions import NotFound, ValidationFailed
from mnemonix_client.models import Memory

if TYPE_CHECKING:
    from agents import FunctionTool
    from agents.items import TResponseInputItem

SESSION = "openai_agents.session"
"""The session's name: marks a turn (a memory this adapter wrote)."""
TURN = "openai_agents.turn"
"""A turn's own id, so a memory the lifecycle derived from several turns is never one."""
KIND = "openai_agents.kind"
"""The item's role (``user``, ``assistant``) or type (``function_call``, ...)."""
ITEM = "openai_agents.item"
"""The raw item as JSON text, when it fits the metadata limit."""
ITEM_IN_CONTENT = "openai_agents.item_in_content"
"""True when the raw item was too large for metadata and the content holds its JSON."""
MAX_CONTENT_CHARS = 32_000  # the server's limits
MAX_METADATA_BYTES = 16_384
MAX_BATCH = 500


class MnemonixSession:
    """Conversation history for the OpenAI Agents SDK, each item (turn) one memory.

    >>> session = MnemonixSession("chat-42", user_id="ann", api_key="mnx_...")
    >>> await Runner.run(agent, "I'm allergic to peanuts", session=session)

    Each item is a memory of scope ``(user_id, agent_id, session_id)``: its readable text
    (a message's text, a tool call's name and arguments, a tool's output) is the content,
    so the turns are searchable like any memory, and the raw item is kept as JSON in the
    metadata (or, past the metadata limit, in the content), so ``get_items`` returns
    exactly what was added, in order. ``add_items`` stores up to 500 items atomically per
    request. An item whose JSON exceeds 32,000 characters is refused (``ValidationFailed``)
    before anything is written.

    Args:
        session_id: the conversation (the memories' ``session_id``).
        user_id, agent_id: the rest of the scope; ``user_id`` is what ``recall_tool``
            searches across sessions.
        client: an ``AsyncMnemonix``; otherwise one is built from ``api_key`` and
            ``base_url`` (see ``AsyncMnemonix``) and closed by ``close()``.
        session_settings: the Agents SDK's settings (``limit``: the default for
            ``get_items``).
    """

    def __init__(
        self,
        session_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        client: AsyncMnemonix | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.agent_id = agent_id
        self.session_settings = session_settings
        self._owned = client is None
        self._client = client or AsyncMnemonix(api_key=api_key, base_url=base_url)

    async def close(self) -> None:
        """Close the client the session built (not one it was given)."""
        if self._owned:
            await self._client.aclose()

    def _scope(self) -> dict[str, str]:
        scope = {"user_id": self.user_id, "agent_id": self.agent_id, "session_id": self.session_id}
        return {k: v for k, v in scope.items() if v is not None}

    async def _turns(self) -> list[Memory]:
        params = {**self._scope(), "metadata": {SESSION: self.session_id}}
        found = await arun(self._client, list_all(params))
        return [memory for memory in found if _is_turn(memory)]

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The session's items in the order added; with ``limit``, the latest ``limit``."""
        limit = resolve_session_limit(limit, self.session_settings)
        turns = await self._turns()
        if limit is not None:
            turns = turns[max(len(turns) - limit, 0) :]
        return [_item_of(memory) for memory in turns]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        bodies = [self._body(item) for item in items]  # all checked before any is written
        for batch in chunks(bodies, MAX_BATCH):
            await self._client.request("POST", "/v1/memories/batch", json={"memories": batch})

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the latest item (``None`` when the session is empty)."""
        for memory in reversed(await self._turns()):
            try:
                await self._client.memories.delete(memory.id)
            except NotFound:
                continue  # another caller popped it first: take the one before
            return _item_of(memory)
        return None

    async def clear_session(self) -> None:
        for memory in await self._turns():
            with contextlib.suppress(NotFound):
                await self._client.memories.delete(memory.id)

    def recall_tool(self, *, limit: int = 5) -> FunctionTool:
        """A ``recall_memories`` tool over this user's memories from other sessions."""
        from mnemonix_client.openai_agents._tool import recall_tool

        if self.user_id is None:
            raise ValueError("recall_tool needs the session's user_id")
        return recall_tool(
            self._client,
            user_id=self.user_id,
            agent_id=self.agent_id,
            limit=limit,
            exclude_session_id=self.session_id,
        )

    def _body(self, item: TResponseInputItem) -> dict[str, Any]:
        raw = _as_dict(item)
        text = json.dumps(raw, ensure_ascii=False, allow_nan=False)
        kind = raw.get("role") or raw.get("type") or "item"
        metadata: dict[str, Any] = {
            SESSION: self.session_id,
            TURN: uuid.uuid4().hex,
            KIND: str(kind),
            ITEM: text,
        }
        content = text_of(raw)
        if len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
            if len(text) > MAX_CONTENT_CHARS:
                raise ValidationFailed(
                    422,
                    {
                        "title": "Item too large",
                        "detail": f"An item of {len(text)} JSON characters is over the "
                        f"{MAX_CONTENT_CHARS}-character limit of a memory.",
                    },
                )
            del metadata[ITEM]
            metadata[ITEM_IN_CONTENT] = True
            content = text
        return {"content": content, "metadata": metadata, **self._scope()}


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)  # a pydantic item from the openai package
    if callable(dump):
        result = dump(exclude_unset=True, mode="json")
        if isinstance(result, dict):
            return result
    raise TypeError(f"not a response input item: {type(item).__name__}")


def _is_turn(memory: Memory) -> bool:
    meta = memory.metadata
    return isinstance(meta.get(TURN), str) and (
        isinstance(meta.get(ITEM), str) or meta.get(ITEM_IN_CONTENT) is True
    )


def _item_of(memory: Memory) -> TResponseInputItem:
    raw = memory.content if memory.metadata.get(ITEM_IN_CONTENT) else memory.metadata[ITEM]
    item: TResponseInputItem = json.loads(raw)
    return item


def text_of(item: Mapping[str, Any]) -> str:
    """What a person would read of an item: the text of a message, ``name(arguments)`` of
    a tool call, a tool's output, a reasoning summary; the item's JSON otherwise."""
    parts: list[str] = []
    content = item.get("content")
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text") or part.get("refusal") or part.get("transcript")
                if isinstance(text, str):
                    parts.append(text)
    kind = item.get("type")
    if kind == "function_call":
        parts.append(f"{item.get('name')}({item.get('arguments', '')})")
    elif kind == "function_call_output":
        output = item.get("output")
        parts.append(output if isinstance(output, str) else json.dumps(output, ensure_ascii=False))
    elif kind == "reasoning":
        for summary in item.get("summary") or []:
            if isinstance(summary, Mapping) and isinstance(summary.get("text"), str):
                parts.append(summary["text"])
    text = "\n".join(p for p in parts if p.strip())
    if not text:
        text = json.dumps(item, ensure_ascii=False, sort_keys=True)
    return text[:MAX_CONTENT_CHARS]
