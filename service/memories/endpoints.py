from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from service.auth import State, Tenant
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
    as_utc,
)
from storage.errors import InvalidInput
from storage.records import MemoryFilter

router = APIRouter(prefix="/v1/memories", tags=["memories"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemoryRead)
def create_memory(body: MemoryCreate, principal: Tenant, state: State) -> MemoryRead:
    """Store one memory. It is durable (committed) when the response arrives."""
    (row,) = service.add_memories(state, tenant_id=principal.tenant_id, items=[body])
    return MemoryRead.of(row)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=MemoryBatchRead)
def create_memories(body: MemoryBatchCreate, principal: Tenant, state: State) -> MemoryBatchRead:
    """Store up to 500 memories atomically: all or none. Ids come back in request order."""
    rows = service.add_memories(state, tenant_id=principal.tenant_id, items=body.memories)
    return MemoryBatchRead(ids=[r.id for r in rows], memories=[MemoryRead.of(r) for r in rows])


@router.get("", response_model=MemoryPage)
def list_memories(
    principal: Tenant,
    state: State,
    user_id: Annotated[str | None, Query(max_length=255)] = None,
    agent_id: Annotated[str | None, Query(max_length=255)] = None,
    session_id: Annotated[str | None, Query(max_length=255)] = None,
    metadata: Annotated[
        str | None,
        Query(description='JSON object of metadata equality filters, e.g. {"speaker":"Ann"}'),
    ] = None,
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> MemoryPage:
    flt = MemoryFilter(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        metadata=_metadata_filter(metadata),
        occurred_after=as_utc(occurred_after),
        occurred_before=as_utc(occurred_before),
    )
    rows, next_cursor = service.list_memories(
        state, tenant_id=principal.tenant_id, flt=flt, limit=limit, cursor=cursor
    )
    return MemoryPage(items=[MemoryRead.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/{memory_id}", response_model=MemoryRead)
def get_memory(memory_id: uuid.UUID, principal: Tenant, state: State) -> MemoryRead:
    return MemoryRead.of(
        service.get_memory(state, tenant_id=principal.tenant_id, memory_id=memory_id)
    )


@router.patch("/{memory_id}", response_model=MemoryRead)
def update_memory(
    memory_id: uuid.UUID, body: MemoryUpdate, principal: Tenant, state: State
) -> MemoryRead:
    """Change fields; a content change re-embeds. Send ``version`` to guard against lost updates."""
    row = service.update_memory(
        state, tenant_id=principal.tenant_id, memory_id=memory_id, patch=body
    )
    return MemoryRead.of(row)


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_memory(memory_id: uuid.UUID, principal: Tenant, state: State) -> Response:
    """Delete for good: content and embedding leave SQL and every index; history keeps a tombstone."""
    service.delete_memory(state, tenant_id=principal.tenant_id, memory_id=memory_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{memory_id}/history", response_model=MemoryHistory)
def memory_history(memory_id: uuid.UUID, principal: Tenant, state: State) -> MemoryHistory:
    events = service.history(state, tenant_id=principal.tenant_id, memory_id=memory_id)
    return MemoryHistory(
        memory_id=memory_id, events=[MemoryEventRead.model_validate(e) for e in events]
    )


@router.get("/{memory_id}/links", response_model=MemoryLinks)
def memory_links(memory_id: uuid.UUID, principal: Tenant, state: State) -> MemoryLinks:
    """What the lifecycle linked to this memory: consolidations and contradictions, newest first."""
    rows = service.links(state, tenant_id=principal.tenant_id, memory_id=memory_id)
    return MemoryLinks(memory_id=memory_id, links=[MemoryLinkRead.model_validate(r) for r in rows])


def _metadata_filter(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("metadata must be a JSON object.", field="metadata") from exc
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        raise InvalidInput("metadata must be a JSON object of scalar values.", field="metadata")
    return value
