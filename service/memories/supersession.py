"""Supersession use cases: explicit ``supersedes`` on writes, detection on writes, review
(list) and undo of links. The rules live in ``lifecycle.supersession``; here they are run
inside a request's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from channels.entities import extract_entities
from lifecycle.policy import policy_from_mapping
from lifecycle.supersession import detect_on_write, settle, supersede, undo
from service.principals import Binding
from service.state import AppState
from storage.db import unit_of_work
from storage.errors import Conflict, InvalidInput, NotFound
from storage.models import Memory, MemoryLink
from storage.repositories import MemoryRepository, TenantRepository
from storage.repositories.supersession import SupersessionRepository


def proper_names(text: str) -> Collection[str]:
    """The names the entity extractor finds in ``text``, lower-cased as written, with the
    first word of each multi-word name: who a capitalised subject may be."""
    out: set[str] = set()
    for entity in extract_entities(text):
        if entity.kind == "proper":
            surface = " ".join(entity.surface.lower().replace("’", "'").split())
            surface = surface[:-2] if surface.endswith("'s") else surface
            out.add(surface)
            out.add(surface.split()[0])
    return out


def detection_on(session: Session, tenant_id: uuid.UUID) -> bool:
    tenant = TenantRepository(session).get(tenant_id)
    try:
        return policy_from_mapping(tenant.policy if tenant else None).supersession
    except ValueError:
        return True


def targets(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    ids: Iterable[uuid.UUID],
    memory_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, Memory]:
    """The memories a write says it supersedes, checked: they exist in this tenant and
    within the key's binding (one outside it is "no memory", as for a read), are not the
    writing memory itself, are not consolidated into another, and make no cycle."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    if memory_id is not None and memory_id in wanted:
        raise InvalidInput("A memory cannot supersede itself.", field="supersedes")
    found = {
        i: row
        for i, row in MemoryRepository(session).get_many(tenant_id=tenant_id, ids=wanted).items()
        if binding.admits(row.user_id, row.agent_id)
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"supersedes: no memory {', '.join(missing)}.", field="supersedes")
    for row in found.values():
        if row.superseded_by is not None:
            raise Conflict(
                f"Memory {row.id} was consolidated into {row.superseded_by}; supersede that one.",
                field="supersedes",
            )
    if memory_id is not None and SupersessionRepository(session).chain_reaches(
        tenant_id=tenant_id, start=wanted, target=memory_id
    ):
        raise Conflict(
            f"Memory {memory_id} is itself superseded, through a chain, by one of these: "
            "a supersession cycle.",
            field="supersedes",
        )
    return found


def record(
    session: Session,
    *,
    new: Memory,
    olds: Sequence[Memory],
    actor: str = "api",
) -> list[Memory]:
    """Explicit supersessions of ``new`` (already checked by ``targets``)."""
    detail: dict[str, Any] = {"kind": "explicit", "source": "write"}
    linked = SupersessionRepository(session).replaced(tenant_id=new.tenant_id, memory_ids=[new.id])
    already = {link.other_id for link in linked}
    olds = [old for old in olds if old.id not in already]
    for old in olds:
        supersede(session, new=new, old=old, detail=dict(detail), actor=actor)
    return list(olds)


def resettle_replaced(session: Session, row: Memory) -> list[Memory]:
    """``row``'s ``occurred_at`` moved: the valid time of the memories it replaced ends there."""
    links = SupersessionRepository(session).replaced(tenant_id=row.tenant_id, memory_ids=[row.id])
    found = MemoryRepository(session).get_many(
        tenant_id=row.tenant_id, ids=[link.other_id for link in links]
    )
    return [other for other in found.values() if settle(session, other, actor="api")]


def detect(
    session: Session, written: Sequence[Memory], *, tenant_id: uuid.UUID, fresh: bool
) -> list[Memory]:
    """Detection on a write (``fresh``: of new memories), if the tenant's policy has it on."""
    if not written or not detection_on(session, tenant_id):
        return []
    return detect_on_write(session, written, names=proper_names, fresh=fresh)


def newest(rows: Iterable[Any]) -> list[Any]:
    """One row per id, the highest version (a row superseded in the write that created it)."""
    out: dict[uuid.UUID, Any] = {}
    for row in rows:
        kept = out.get(row.id)
        if kept is None or row.version >= kept.version:
            out[row.id] = row
    return list(out.values())


def list_links(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    kind: str | None,
    include_dismissed: bool,
    limit: int,
    before: int | None,
) -> list[MemoryLink]:
    with state.sessions() as session:
        return SupersessionRepository(session).page(
            tenant_id=tenant_id,
            kind=kind,
            include_dismissed=include_dismissed,
            limit=limit,
            before=before,
        )


def undo_link(state: AppState, *, tenant_id: uuid.UUID, link_id: int) -> None:
    """Undo one supersession (``lifecycle.supersession.undo``); the replaced memory is back
    in default recall at once."""
    with unit_of_work(state.sessions) as session:
        link = SupersessionRepository(session).get(tenant_id=tenant_id, link_id=link_id)
        if link is None or link.relation != "supersedes":
            raise NotFound(f"No supersession {link_id}.")
        restored = undo(session, link, actor="api")
    if restored is not None:
        state.indexes.apply(tenant_id, upserted=[restored])
