"""``POST /v1/admin/tenants/{name}/search``: the dashboard playground's search."""

from __future__ import annotations

import dataclasses
import uuid

from fastapi import APIRouter

from service.access import AccessTracker
from service.auth import State
from service.principals import UNBOUND
from service.schemas import SearchRequest, SearchResponse
from service.search import service as search_service
from storage.errors import NotFound
from storage.repositories import TenantRepository

router = APIRouter(tags=["admin"])


class _Untracked(AccessTracker):
    """Drops retrieval counts: an operator's playground query is not the agent recalling."""

    def __init__(self) -> None:
        pass

    def record(self, tenant_id: uuid.UUID, memory_ids: list[uuid.UUID]) -> None:
        return None


_UNTRACKED = _Untracked()


@router.post("/tenants/{name}/search", response_model=SearchResponse)
def search_tenant(name: str, body: SearchRequest, state: State) -> SearchResponse:
    """``POST /v1/search`` on behalf of tenant ``name``, with the admin key (the playground).

    Same body and response as ``/v1/search``. These searches do not count as retrievals, so
    trying queries never reinforces a memory against the forgetting curve.
    """
    with state.sessions() as session:
        tenant = TenantRepository(session).by_name(name)
        tenant_id = tenant.id if tenant is not None else None
    if tenant_id is None:
        raise NotFound(f"No tenant named {name!r}.")
    untracked = dataclasses.replace(state, access=_UNTRACKED)
    return search_service.search(untracked, tenant_id=tenant_id, binding=UNBOUND, request=body)
