"""``MemoryPort`` over a running server's REST API, through the Python SDK (``mnemonix mcp``
without ``--database-url``). A problem the server answers becomes the same tool error the
``/mcp`` endpoint gives for it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from service.context.schemas import ContextRequest, ContextResponse
from service.mcp_server.port import ForgetResult, ListFilter, RememberResult, ToolFailure
from service.mcp_server.port import problem_message as message
from service.schemas import MemoryCreate, MemoryHistory, MemoryPage, MemoryRead, MemoryUpdate

if TYPE_CHECKING:
    from mnemonix_client import AsyncMnemonix

T = TypeVar("T")


def _body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


class RemotePort:
    def __init__(self, client: AsyncMnemonix) -> None:
        self.client = client

    async def _call(self, call: Awaitable[T]) -> T:
        from mnemonix_client import APIError, TransportError

        try:
            return await call
        except APIError as exc:
            title = str(exc.problem.get("title") or f"HTTP {exc.status}")
            raise ToolFailure(message(title, exc.detail, exc.errors)) from None
        except TransportError:
            raise ToolFailure(
                message("Service unavailable", f"No answer from {self.client.base_url}.")
            ) from None

    async def remember(self, items: Sequence[MemoryCreate]) -> RememberResult:
        memories = await self._call(self.client.memories.add_many([_body(i) for i in items]))
        reads = [MemoryRead.model_validate(m.model_dump()) for m in memories]
        return RememberResult(ids=[m.id for m in reads], memories=reads)

    async def recall(self, request: ContextRequest) -> ContextResponse:
        data = await self._call(
            self.client.request("POST", "/v1/context", json=_body(request), retry_post=True)
        )
        return ContextResponse.model_validate(data)

    async def forget(self, memory_id: uuid.UUID) -> ForgetResult:
        await self._call(self.client.memories.delete(memory_id))
        return ForgetResult(deleted=memory_id)

    async def update(self, memory_id: uuid.UUID, patch: MemoryUpdate) -> MemoryRead:
        data = await self._call(
            self.client.request("PATCH", f"/v1/memories/{memory_id}", json=_body(patch))
        )
        return MemoryRead.model_validate(data)

    async def get(self, memory_id: uuid.UUID) -> MemoryRead:
        data = await self._call(self.client.request("GET", f"/v1/memories/{memory_id}"))
        return MemoryRead.model_validate(data)

    async def list(self, flt: ListFilter, *, limit: int, cursor: str | None) -> MemoryPage:
        params = {**flt.model_dump(mode="json"), "limit": limit, "cursor": cursor}
        if not params["metadata"]:
            params.pop("metadata")
        data = await self._call(self.client.request("GET", "/v1/memories", params=params))
        return MemoryPage.model_validate(data)

    async def history(self, memory_id: uuid.UUID) -> MemoryHistory:
        data = await self._call(self.client.request("GET", f"/v1/memories/{memory_id}/history"))
        return MemoryHistory.model_validate(data)
