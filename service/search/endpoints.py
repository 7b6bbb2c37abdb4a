from __future__ import annotations

from fastapi import APIRouter

from service.auth import Reader, State
from service.schemas import SearchRequest, SearchResponse
from service.search import service

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, principal: Reader, state: State) -> SearchResponse:
    """Rank the tenant's memories for a query across every channel, fused by weighted RRF.

    ``reference_time`` is the "now" for relative time expressions ("last week").
    ``explain: true`` adds, per hit, why each channel matched it.
    A key bound to a user or agent searches that scope only.
    """
    return service.search(
        state, tenant_id=principal.tenant_id, binding=principal.binding, request=body
    )
