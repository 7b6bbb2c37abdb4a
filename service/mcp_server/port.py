"""What the MCP tools need from Mnemonix, whichever way it is reached, and the tools' outputs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from service.context.schemas import ContextRequest, ContextResponse
from service.schemas import MemoryCreate, MemoryHistory, MemoryPage, MemoryRead, MemoryUpdate


class ToolFailure(Exception):
    """A call the server refused: ``message`` is what the REST problem says (title, detail and
    any per-field errors), returned to the model as a tool error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def problem_message(title: str, detail: str, errors: Sequence[Mapping[str, Any]] = ()) -> str:
    """``Not found: No memory 1b2c....`` / ``Validation failed: The request did not validate.
    memories.0.content: String should have at most 32000 characters``."""
    message = f"{title}: {detail}"
    if errors:
        fields = "; ".join(f"{e.get('loc', '')}: {e.get('msg', '')}" for e in errors)
        message = f"{message} {fields}"
    return message


class ListFilter(BaseModel):
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


class RememberResult(BaseModel):
    ids: list[uuid.UUID] = Field(description="The new memories' ids, in the order sent.")
    memories: list[MemoryRead]


class ForgetResult(BaseModel):
    deleted: uuid.UUID
    """The id of the memory that was deleted for good."""


class MemoryPort(Protocol):
    """Mnemonix as the tools see it: one tenant's memories. Every method raises
    ``ToolFailure`` for anything the REST API would answer with a 4xx."""

    async def remember(self, items: Sequence[MemoryCreate]) -> RememberResult: ...

    async def recall(self, request: ContextRequest) -> ContextResponse: ...

    async def forget(self, memory_id: uuid.UUID) -> ForgetResult: ...

    async def update(self, memory_id: uuid.UUID, patch: MemoryUpdate) -> MemoryRead: ...

    async def get(self, memory_id: uuid.UUID) -> MemoryRead: ...

    async def list(self, flt: ListFilter, *, limit: int, cursor: str | None) -> MemoryPage: ...

    async def history(self, memory_id: uuid.UUID) -> MemoryHistory: ...
