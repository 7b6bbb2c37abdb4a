"""The MCP tools, written for a model to read, over any ``MemoryPort``.

Each tool has a typed input schema (from its parameters, with the REST API's own field types
and limits) and a typed output schema (structured content). A call the server refuses comes
back as a tool error (``isError``) whose text is what the REST problem says; the session goes
on. Arguments that do not match the input schema are refused before the tool runs with the
REST API's validation problem too (``Validation failed: The request did not validate.`` and
each field's message), not the MCP SDK's own wording.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, StrictBool, StrictInt, ValidationError

from service.context.schemas import ContextRequest, ContextResponse, MaxTokens
from service.mcp_server.port import (
    ForgetResult,
    ListFilter,
    MemoryPort,
    RememberResult,
    ToolFailure,
    problem_message,
)
from service.privacy.policy import TtlSeconds
from service.problems import describe_fault
from service.schemas import (
    EXPIRES_AT,
    MAX_BATCH,
    MAX_SEARCH_LIMIT,
    TTL_SECONDS,
    Importance,
    MemoryCreate,
    MemoryHistory,
    MemoryPage,
    MemoryRead,
    MemoryUpdate,
    Supersedes,
)
from service.validation import Content, Metadata, MetadataFilters, ScopeId, Timestamp

logger = logging.getLogger("mnemonix")

INSTRUCTIONS = """Mnemonix is your long-term memory. Call `remember` to store facts, preferences \
and events worth keeping (one memory per fact, with user_id / session_id to scope them). \
Before answering something that may depend on the past, call `recall` with the question: it \
returns a ready context block that fits `max_tokens`. Use `list`, `get`, `history`, `update` \
and `forget` to inspect and maintain memories."""

PortResolver = Callable[[Context], MemoryPort]
MemoryId = Annotated[uuid.UUID, Field(description="A memory's id, as returned by remember.")]


def _ok(result: BaseModel, text: str | None = None) -> CallToolResult:
    structured = result.model_dump(mode="json")
    body = text if text is not None else json.dumps(structured, ensure_ascii=False)
    return CallToolResult(content=[TextContent(text=body)], structured_content=structured)


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text)], is_error=True)


def _invalid(exc: ValidationError) -> CallToolResult:
    errors = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg", ""))}
        for e in exc.errors(include_input=False)
    ]
    return _error(problem_message("Validation failed", "The request did not validate.", errors))


async def _guarded(name: str, call: Callable[[], Awaitable[CallToolResult]]) -> CallToolResult:
    """Every refusal as a tool error; an unexpected fault as a generic one, logged without its
    message (which could quote the caller's values)."""
    try:
        return await call()
    except ToolFailure as exc:
        return _error(exc.message)
    except ValidationError as exc:
        return _invalid(exc)
    except Exception as exc:
        logger.error("MCP tool %s failed: %s", name, describe_fault(exc))
        return _error(problem_message("Internal server error", "An unexpected error occurred."))


class _Server(MCPServer):
    """Arguments the input schema refuses answer as the REST API's validation problem."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return _invalid(exc.__cause__)
            raise


class RecallResult(ContextResponse):
    """The context block and the memories in it (``hits``, best-ranked first)."""


def build_mcp(resolve: PortResolver) -> MCPServer:
    """The MCP server; ``resolve`` gives the port for a call (the caller's tenant over HTTP)."""
    # the SDK logs every HTTP request at INFO, and a refused argument's field names
    logging.getLogger("mcp").setLevel(logging.WARNING)
    # MCPServer() calls logging.basicConfig (a rich handler on the root logger) when the root
    # has no handler yet: logging is the application's to configure, so give it one meanwhile
    root, placeholder = logging.getLogger(), logging.NullHandler()
    root.addHandler(placeholder)
    try:
        server: MCPServer = _Server(
            "mnemonix", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
        )
    finally:
        root.removeHandler(placeholder)

    @server.tool(
        description=(
            "Store one or several memories (up to 500, atomically). Each memory is one fact, "
            "preference or event in plain language. Scope it with user_id (whose memory), "
            "agent_id and session_id (which conversation); put the speaker or source in "
            'metadata (e.g. {"speaker": "Ann"}); set occurred_at when it happened (RFC 3339) '
            "if not now. Returns the new ids."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
    )
    async def remember(
        memories: Annotated[list[MemoryCreate], Field(min_length=1, max_length=MAX_BATCH)],
        ctx: Context,
    ) -> Annotated[CallToolResult, RememberResult]:
        async def call() -> CallToolResult:
            return _ok(await resolve(ctx).remember(memories))

        return await _guarded("remember", call)

    @server.tool(
        description=(
            "Recall what is known about a question: searches every memory in scope and returns "
            "`context`, a block of the most relevant memories that fits max_tokens (grouped by "
            "conversation, oldest first, each line with its date and speaker; outdated facts "
            "marked), plus `hits`, those memories with their ids. Paste `context` into your "
            "reasoning; cite ids to update or forget a memory."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def recall(
        query: Annotated[str, Field(description="The question or topic, in plain language.")],
        ctx: Context,
        max_tokens: MaxTokens = 1000,
        format: Literal["text", "markdown", "json"] = "text",
        user_id: ScopeId | None = None,
        agent_id: ScopeId | None = None,
        session_id: ScopeId | None = None,
        filters: MetadataFilters | None = None,
        reference_time: Annotated[
            Timestamp | None, Field(description="'Now' for relative times such as 'last week'.")
        ] = None,
        candidates: Annotated[StrictInt, Field(ge=1, le=MAX_SEARCH_LIMIT)] = 30,
    ) -> Annotated[CallToolResult, RecallResult]:
        async def call() -> CallToolResult:
            request = ContextRequest(
                query=query,
                max_tokens=max_tokens,
                format=format,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                filters=filters or {},
                reference_time=reference_time,
                candidates=candidates,
                include_hits=True,
            )
            found = await resolve(ctx).recall(request)
            result = RecallResult.model_validate(found.model_dump())
            return _ok(result, text=result.context or "No memory matched.")

        return await _guarded("recall", call)

    @server.tool(
        description="Delete a memory for good (its content leaves every index).",
        annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=False),
    )
    async def forget(memory_id: MemoryId, ctx: Context) -> Annotated[CallToolResult, ForgetResult]:
        async def call() -> CallToolResult:
            return _ok(await resolve(ctx).forget(memory_id))

        return await _guarded("forget", call)

    @server.tool(
        description=(
            "Change a memory: send only the fields to change. New content is re-embedded. "
            "Pass version (from get) to refuse the change if someone else changed it first."
        ),
        annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=True),
    )
    async def update(
        memory_id: MemoryId,
        ctx: Context,
        content: Content | None = None,
        metadata: Metadata | None = None,
        occurred_at: Timestamp | None = None,
        importance: Importance | None = None,
        pinned: StrictBool | None = None,
        expires_at: Annotated[Timestamp | None, Field(description=EXPIRES_AT)] = None,
        ttl_seconds: Annotated[TtlSeconds | None, Field(description=TTL_SECONDS)] = None,
        supersedes: Annotated[
            Supersedes | None,
            Field(description="Ids of memories this one replaces (they leave default recall)."),
        ] = None,
        version: Annotated[StrictInt, Field(ge=1)] | None = None,
    ) -> Annotated[CallToolResult, MemoryRead]:
        async def call() -> CallToolResult:
            sent = {
                "content": content,
                "metadata": metadata,
                "occurred_at": occurred_at,
                "importance": importance,
                "pinned": pinned,
                "expires_at": expires_at,
                "ttl_seconds": ttl_seconds,
                "supersedes": supersedes,
                "version": version,
            }
            patch = MemoryUpdate(**{k: v for k, v in sent.items() if v is not None})
            return _ok(await resolve(ctx).update(memory_id, patch))

        return await _guarded("update", call)

    @server.tool(
        description="Read one memory by id (content, scope, metadata, dates, version).",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def get(memory_id: MemoryId, ctx: Context) -> Annotated[CallToolResult, MemoryRead]:
        async def call() -> CallToolResult:
            return _ok(await resolve(ctx).get(memory_id))

        return await _guarded("get", call)

    @server.tool(
        name="list",
        description=(
            "List memories, oldest stored first, filtered by scope, metadata equality and "
            "when they happened. Pass next_cursor back as cursor for the next page."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def list_memories(
        ctx: Context,
        user_id: ScopeId | None = None,
        agent_id: ScopeId | None = None,
        session_id: ScopeId | None = None,
        metadata: MetadataFilters | None = None,
        occurred_after: Timestamp | None = None,
        occurred_before: Timestamp | None = None,
        limit: Annotated[StrictInt, Field(ge=1, le=100)] = 20,
        cursor: Annotated[str, Field(max_length=512)] | None = None,
    ) -> Annotated[CallToolResult, MemoryPage]:
        async def call() -> CallToolResult:
            flt = ListFilter(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                metadata=metadata or {},
                occurred_after=occurred_after,
                occurred_before=occurred_before,
            )
            return _ok(await resolve(ctx).list(flt, limit=limit, cursor=cursor))

        return await _guarded("list", call)

    @server.tool(
        description=(
            "A memory's history: created, updated (what changed), lifecycle moves, "
            "consolidation, deletion."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def history(
        memory_id: MemoryId, ctx: Context
    ) -> Annotated[CallToolResult, MemoryHistory]:
        async def call() -> CallToolResult:
            return _ok(await resolve(ctx).history(memory_id))

        return await _guarded("history", call)

    return server
