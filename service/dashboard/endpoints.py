"""``GET /admin`` (the page and its two assets) and the playground's admin-only search."""

from __future__ import annotations

import dataclasses
import uuid
from importlib.resources import files

from fastapi import APIRouter, Response

from service.access import AccessTracker
from service.auth import Admin, State
from service.schemas import SearchRequest, SearchResponse
from service.search import service as search_service
from storage.errors import NotFound
from storage.repositories import TenantRepository

router = APIRouter()

STATIC = files("service.dashboard") / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# Everything comes from this origin: no CDN, no inline script, no framing.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/admin", include_in_schema=False)
def dashboard_page() -> Response:
    """The page itself is public: it holds no data until the operator enters the admin key."""
    html = (STATIC / "index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/admin/static/{name}", include_in_schema=False)
def dashboard_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:  # a fixed list: no path from the URL ever reaches the file system
        raise NotFound(f"No dashboard asset named {name!r}.")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=f"{media_type}; charset=utf-8", headers=HEADERS)


class _Untracked(AccessTracker):
    """Drops retrieval counts: an operator's playground query is not the agent recalling."""

    def __init__(self) -> None:
        pass

    def record(self, tenant_id: uuid.UUID, memory_ids: list[uuid.UUID]) -> None:
        return None


_UNTRACKED = _Untracked()


@router.post(
    "/v1/admin/tenants/{name}/search",
    response_model=SearchResponse,
    tags=["admin"],
)
def search_tenant(name: str, body: SearchRequest, _: Admin, state: State) -> SearchResponse:
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
    return search_service.search(untracked, tenant_id=tenant_id, request=body)
