"""``/v1/supersessions``: every supersession of the tenant for review, and undo.

The list spans the whole tenant (its links name memories of every user and agent, and a
detected one quotes the values it compared), so a key bound to one user or agent is refused
(403), as it is for any other scope; reviewing needs ``read``, undoing ``write``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from service.auth import Reader, State, Writer
from service.memories import supersession
from service.principals import Principal
from service.schemas import SupersessionPage, SupersessionRead
from storage.errors import Forbidden, InvalidInput

router = APIRouter(prefix="/v1/supersessions", tags=["supersessions"])
MAX_LINK_ID = 2**63 - 1


@router.get("", response_model=SupersessionPage)
def list_supersessions(
    principal: Reader,
    state: State,
    kind: Literal["explicit", "detected"] | None = None,
    include_dismissed: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> SupersessionPage:
    """Supersessions newest first: ``kind=detected`` lists what detection decided, for review."""
    _whole_tenant(principal)
    before = None
    if cursor is not None:
        if not cursor.isdigit() or not 0 < int(cursor) <= MAX_LINK_ID:
            raise InvalidInput("The cursor is not one this server issued.", field="cursor")
        before = int(cursor)
    links = supersession.list_links(
        state,
        tenant_id=principal.tenant_id,
        kind=kind,
        include_dismissed=include_dismissed,
        limit=limit + 1,
        before=before,
    )
    more = len(links) > limit
    links = links[:limit]
    return SupersessionPage(
        items=[SupersessionRead.of(link) for link in links],
        next_cursor=str(links[-1].id) if more else None,
    )


@router.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def undo_supersession(
    link_id: Annotated[int, Path(ge=1, le=MAX_LINK_ID)], principal: Writer, state: State
) -> Response:
    """Undo a supersession: the replaced memory is current again at once. A detected one
    stays listed as dismissed (``include_dismissed=true``) and is never detected again."""
    _whole_tenant(principal)
    supersession.undo_link(state, tenant_id=principal.tenant_id, link_id=link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _whole_tenant(principal: Principal) -> None:
    if principal.binding.bound:
        raise Forbidden("Supersessions span the whole tenant: this key is bound to one scope.")
