"""``MemoryPort`` over the services of this process: the ``/mcp`` endpoint (the caller's
tenant) and ``mnemonix mcp --database-url`` (the embedded store)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

import anyio.to_thread
from sqlalchemy.exc import DataError, StatementError

from service.context.schemas import ContextRequest, ContextResponse
from service.context.service import build_context
from service.mcp_server.port import ForgetResult, ListFilter, RememberResult, ToolFailure
from service.mcp_server.port import problem_message as message
from service.memories import service
from service.principals import Principal
from service.problems import PROBLEMS
from service.schemas import (
    MemoryCreate,
    MemoryEventRead,
    MemoryHistory,
    MemoryPage,
    MemoryRead,
    MemoryUpdate,
)
from service.state import AppState
from storage.errors import DomainError, Forbidden
from storage.models import Memory
from storage.records import MemoryFilter

T = TypeVar("T")


def _refused(exc: BaseException) -> bool:
    """A value the database refused (see ``service.problems.is_client_fault``)."""
    origin = exc.orig if isinstance(exc, StatementError) else exc
    return isinstance(exc, DataError) or isinstance(origin, OverflowError)


class LocalPort:
    """The tools as ``principal`` may use them: each needs the scope its REST route needs
    (``read`` / ``write`` / ``delete``), and a bound key reaches only its binding."""

    def __init__(self, state: AppState, principal: Principal) -> None:
        self.state = state
        self.principal = principal
        self.tenant_id = principal.tenant_id
        self.binding = principal.binding

    async def _run(self, call: Callable[[], T], *, scope: str = "read") -> T:
        try:
            if scope not in self.principal.scopes:
                raise Forbidden(f"This key lacks the {scope} scope.", missing=[scope])
            return await anyio.to_thread.run_sync(call)
        except DomainError as exc:
            title = PROBLEMS.get(exc.code, PROBLEMS["bad_request"])[1]
            raise ToolFailure(message(title, exc.detail)) from None
        except (DataError, StatementError, OverflowError) as exc:
            if not _refused(exc):
                raise
            raise ToolFailure(
                message("Invalid input", "A value in the request cannot be stored or compared.")
            ) from None

    async def remember(self, items: Sequence[MemoryCreate]) -> RememberResult:
        rows = await self._run(
            lambda: service.add_memories(
                self.state, tenant_id=self.tenant_id, binding=self.binding, items=items
            ),
            scope="write",
        )
        return RememberResult(ids=[r.id for r in rows], memories=[MemoryRead.of(r) for r in rows])

    async def recall(self, request: ContextRequest) -> ContextResponse:
        return await self._run(
            lambda: build_context(
                self.state, tenant_id=self.tenant_id, binding=self.binding, request=request
            )
        )

    async def forget(self, memory_id: uuid.UUID) -> ForgetResult:
        await self._run(
            lambda: service.delete_memory(
                self.state, tenant_id=self.tenant_id, binding=self.binding, memory_id=memory_id
            ),
            scope="delete",
        )
        return ForgetResult(deleted=memory_id)

    async def update(self, memory_id: uuid.UUID, patch: MemoryUpdate) -> MemoryRead:
        row = await self._run(
            lambda: service.update_memory(
                self.state,
                tenant_id=self.tenant_id,
                binding=self.binding,
                memory_id=memory_id,
                patch=patch,
            ),
            scope="write",
        )
        return MemoryRead.of(row)

    async def get(self, memory_id: uuid.UUID) -> MemoryRead:
        row = await self._run(
            lambda: service.get_memory(
                self.state, tenant_id=self.tenant_id, binding=self.binding, memory_id=memory_id
            )
        )
        return MemoryRead.of(row)

    async def list(self, flt: ListFilter, *, limit: int, cursor: str | None) -> MemoryPage:
        def page() -> tuple[list[Memory], str | None]:
            user_id, agent_id = self.binding.narrow(flt.user_id, flt.agent_id)
            where = MemoryFilter(**{**flt.model_dump(), "user_id": user_id, "agent_id": agent_id})
            return service.list_memories(
                self.state, tenant_id=self.tenant_id, flt=where, limit=limit, cursor=cursor
            )

        rows, next_cursor = await self._run(page)
        return MemoryPage(items=[MemoryRead.of(r) for r in rows], next_cursor=next_cursor)

    async def history(self, memory_id: uuid.UUID) -> MemoryHistory:
        events = await self._run(
            lambda: service.history(
                self.state, tenant_id=self.tenant_id, binding=self.binding, memory_id=memory_id
            )
        )
        return MemoryHistory(
            memory_id=memory_id, events=[MemoryEventRead.model_validate(e) for e in events]
        )
