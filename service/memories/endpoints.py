from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import ValidationError

from service.auth import Deleter, Reader, State, Writer
from service.memories import service
from service.schemas import (
    MemoryBatchCreate,
    MemoryBatchRead,
    MemoryCreate,
    MemoryEventRead,
    MemoryHistory,
    MemoryLinkRead,
    MemoryLinks,
    MemoryPage,
    MemoryRead,
    MemoryUpdate,
)
from service.validation import NO_NUL, Timestamp, parse_filters
from storage.errors import InvalidInput
from storage.records import MemoryFilter

MAX_FILTER_CHARS = 2048
"""A URL stays a few kilobytes long: the metadata filter query parameter is bounded."""

router = APIRouter(prefix="/v1/memories", tags=["memories"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemoryRead)
def create_memory(body: MemoryCreate, principal: Writer, state: State) -> MemoryRead:
    """Store one memory. It is durable (committed) when the response arrives."""
    (row,) = service.add_memories(
        state, tenant_id=principal.tenant_id, binding=principal.binding, items=[body]
    )
    return MemoryRead.of(row)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=MemoryBatchRead)
def create_memories(body: MemoryBatchCreate, principal: Writer, state: State) -> MemoryBatchRead:
    """Store up to 500 memories atomically: all or none. Ids come back in request order."""
    rows = service.add_memories(
        state, tenant_id=principal.tenant_id, binding=principal.binding, items=body.memories
    )
    return MemoryBatchRead(ids=[r.id for r in rows], memories=[MemoryRead.of(r) for r in rows])


@router.get("", response_model=MemoryPage)
def list_memories(
    principal: Reader,
    state: State,
    user_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    agent_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    session_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    metadata: Annotated[
        str | None,
        Query(
            max_length=MAX_FILTER_CHARS,
            description=(
                "JSON object of metadata equality filters, e.g. "
                '{"speaker":"Ann"}: keys 1 to 128 characters, values strings, booleans or '
                "finite numbers within the signed 64-bit range, no NUL characters."
            ),
        ),
    ] = None,
    occurred_after: Annotated[Timestamp | None, Query()] = None,
    occurred_before: Annotated[Timestamp | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> MemoryPage:
    user_id, agent_id = principal.binding.narrow(user_id, agent_id)
    flt = MemoryFilter(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        metadata=_metadata_filter(metadata),
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    rows, next_cursor = service.list_memories(
        state, tenant_id=principal.tenant_id, flt=flt, limit=limit, cursor=cursor
    )
    return MemoryPage(items=[MemoryRead.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/{memory_id}", response_model=MemoryRead)
def get_memory(memory_id: uuid.UUID, principal: Reader, state: State) -> MemoryRead:
    return MemoryRead.of(
        service.get_memory(
            state, tenant_id=principal.tenant_id, binding=principal.binding, memory_id=memory_id
        )
    )


@router.patch("/{memory_id}", response_model=MemoryRead)
def update_memory(
    memory_id: uuid.UUID, body: MemoryUpdate, principal: Writer, state: State
) -> MemoryRead:
    """Change fields; a content change re-embeds. Send ``version`` to guard against lost updates."""
    row = service.update_memory(
        state,
        tenant_id=principal.tenant_id,
        binding=principal.binding,
        memory_id=memory_id,
        patch=body,
    )
    return MemoryRead.of(row)


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_memory(memory_id: uuid.UUID, principal: Deleter, state: State) -> Response:
    """Delete for good: content and embedding leave SQL and every index; history keeps a tombstone."""
    service.delete_memory(
        state, tenant_id=principal.tenant_id, binding=principal.binding, memory_id=memory_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{memory_id}/history", response_model=MemoryHistory)
def memory_history(memory_id: uuid.UUID, principal: Reader, state: State) -> MemoryHistory:
    """Created / updated / lifecycle / deleted events. A key bound to a user or agent sees
    the history of that scope's stored memories only (a tombstone has no scope to check)."""
    events = service.history(
        state, tenant_id=principal.tenant_id, binding=principal.binding, memory_id=memory_id
    )
    return MemoryHistory(
        memory_id=memory_id, events=[MemoryEventRead.model_validate(e) for e in events]
    )


@router.get("/{memory_id}/links", response_model=MemoryLinks)
def memory_links(memory_id: uuid.UUID, principal: Reader, state: State) -> MemoryLinks:
    """What the lifecycle linked to this memory: consolidations and contradictions, newest first."""
    rows = service.links(
        state, tenant_id=principal.tenant_id, binding=principal.binding, memory_id=memory_id
    )
    return MemoryLinks(memory_id=memory_id, links=[MemoryLinkRead.model_validate(r) for r in rows])


def _metadata_filter(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return parse_filters(raw)
    except ValidationError as exc:
        reasons = "; ".join(str(e.get("msg", "")) for e in exc.errors(include_input=False))
        raise InvalidInput(f"metadata: {reasons}.", field="metadata") from None
    except ValueError as exc:
        # json's own messages name positions, never the value
        raise InvalidInput(f"metadata must be a JSON object: {exc}.", field="metadata") from None
