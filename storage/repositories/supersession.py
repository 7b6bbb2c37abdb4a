"""Supersession links (``memory_link`` rows of relation ``supersedes`` / ``dismissed``) and
the claims the write path looks them up by (``memory_claim``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from storage.models import Memory, MemoryClaim, MemoryLink

SUPERSEDES = "supersedes"
DISMISSED = "dismissed"
"""A detected supersession a client undid: kept so that detection does not make it again."""


class SupersessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # links

    def add(
        self,
        *,
        tenant_id: uuid.UUID,
        memory_id: uuid.UUID,
        other_id: uuid.UUID,
        detail: dict[str, Any],
    ) -> MemoryLink:
        link = MemoryLink(
            tenant_id=tenant_id,
            memory_id=memory_id,
            other_id=other_id,
            relation=SUPERSEDES,
            detail=detail,
        )
        self.session.add(link)
        self.session.flush()
        return link

    def get(self, *, tenant_id: uuid.UUID, link_id: int) -> MemoryLink | None:
        link = self.session.get(MemoryLink, link_id)
        if link is None or link.tenant_id != tenant_id:
            return None
        return link if link.relation in (SUPERSEDES, DISMISSED) else None

    def superseders(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> list[MemoryLink]:
        """The links that replace ``memory_id``, oldest first."""
        stmt = select(MemoryLink).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.other_id == memory_id,
            MemoryLink.relation == SUPERSEDES,
        )
        return list(self.session.scalars(stmt.order_by(MemoryLink.created_at, MemoryLink.id)))

    def replaced(
        self, *, tenant_id: uuid.UUID, memory_ids: Sequence[uuid.UUID]
    ) -> list[MemoryLink]:
        """The links by which ``memory_ids`` replace other memories."""
        if not memory_ids:
            return []
        stmt = select(MemoryLink).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.memory_id.in_(list(memory_ids)),
            MemoryLink.relation == SUPERSEDES,
        )
        return list(self.session.scalars(stmt.order_by(MemoryLink.id)))

    def known_pairs(
        self, *, tenant_id: uuid.UUID, memory_ids: Iterable[uuid.UUID]
    ) -> set[frozenset[uuid.UUID]]:
        """Pairs (either direction) already linked as ``supersedes`` or ``dismissed``: a
        detection never repeats a link, nor one a client dismissed."""
        ids = list(set(memory_ids))
        if not ids:
            return set()
        stmt = select(MemoryLink.memory_id, MemoryLink.other_id).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.relation.in_((SUPERSEDES, DISMISSED)),
            or_(MemoryLink.memory_id.in_(ids), MemoryLink.other_id.in_(ids)),
        )
        return {frozenset((a, b)) for a, b in self.session.execute(stmt)}

    def page(
        self,
        *,
        tenant_id: uuid.UUID,
        kind: str | None,
        include_dismissed: bool,
        limit: int,
        before: int | None,
    ) -> list[MemoryLink]:
        """Supersessions, newest first (keyset on the link id)."""
        relations = (SUPERSEDES, DISMISSED) if include_dismissed else (SUPERSEDES,)
        stmt = select(MemoryLink).where(
            MemoryLink.tenant_id == tenant_id, MemoryLink.relation.in_(relations)
        )
        if before is not None:
            stmt = stmt.where(MemoryLink.id < before)
        rows = self.session.scalars(stmt.order_by(MemoryLink.id.desc()).limit(limit * 4 + 1))
        found = [r for r in rows if kind is None or (r.detail or {}).get("kind") == kind]
        return found[:limit]

    def remove(self, link: MemoryLink) -> None:
        self.session.delete(link)
        self.session.flush()

    def remove_for(self, *, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> list[MemoryLink]:
        """Delete every supersession link from or to ``memory_id``; returns them."""
        stmt = select(MemoryLink).where(
            MemoryLink.tenant_id == tenant_id,
            MemoryLink.relation.in_((SUPERSEDES, DISMISSED)),
            or_(MemoryLink.memory_id == memory_id, MemoryLink.other_id == memory_id),
        )
        links = list(self.session.scalars(stmt))
        for link in links:
            self.session.delete(link)
        self.session.flush()
        return links

    def chain_reaches(
        self, *, tenant_id: uuid.UUID, start: Sequence[uuid.UUID], target: uuid.UUID
    ) -> bool:
        """Whether ``target`` is reachable from ``start`` by following ``supersedes`` links
        (from a memory to those it replaces): the cycle check of an explicit supersession."""
        seen: set[uuid.UUID] = set()
        frontier = list(start)
        while frontier:
            if target in frontier:
                return True
            seen.update(frontier)
            stmt = select(MemoryLink.other_id).where(
                MemoryLink.tenant_id == tenant_id,
                MemoryLink.relation == SUPERSEDES,
                MemoryLink.memory_id.in_(frontier),
            )
            frontier = [i for i in set(self.session.scalars(stmt)) if i not in seen]
        return False

    # claims

    def set_claims(
        self,
        *,
        memory: Memory,
        claims: Iterable[tuple[str, str, str]],
        fresh: bool = False,
    ) -> None:
        """Replace the claims stored for ``memory`` by ``(subject, attribute, value)``s
        (``fresh``: a memory written in this transaction, with none stored yet)."""
        if not fresh:
            self.session.execute(delete(MemoryClaim).where(MemoryClaim.memory_id == memory.id))
        self.session.add_all(
            MemoryClaim(
                tenant_id=memory.tenant_id,
                memory_id=memory.id,
                user_id=memory.user_id,
                agent_id=memory.agent_id,
                subject=subject[:255],
                attribute=attribute[:64],
                value=value[:255],
            )
            for subject, attribute, value in claims
        )
        self.session.flush()

    def current_claimants(
        self,
        *,
        tenant_id: uuid.UUID,
        user_id: str | None,
        agent_id: str | None,
        keys: Iterable[tuple[str, str]],
        exclude: Sequence[uuid.UUID] = (),
    ) -> list[Memory]:
        """Current memories of the scope (neither replaced nor consolidated) with a claim on
        one of the ``(subject, attribute)`` keys, through the claim index."""
        wanted = list(set(keys))
        if not wanted:
            return []
        stmt = (
            select(MemoryClaim.memory_id)
            .where(
                MemoryClaim.tenant_id == tenant_id,
                or_(
                    *(and_(MemoryClaim.subject == s, MemoryClaim.attribute == a) for s, a in wanted)
                ),
                MemoryClaim.user_id.is_(None)
                if user_id is None
                else MemoryClaim.user_id == user_id,
                MemoryClaim.agent_id.is_(None)
                if agent_id is None
                else MemoryClaim.agent_id == agent_id,
            )
            .distinct()
        )
        ids = [i for i in self.session.scalars(stmt) if i not in set(exclude)]
        if not ids:
            return []
        rows = self.session.scalars(
            select(Memory).where(
                Memory.id.in_(ids),
                Memory.replaced_by.is_(None),
                Memory.superseded_by.is_(None),
            )
        )
        return [r for r in rows if r.tenant_id == tenant_id]

    def claims_of(self, memory_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[MemoryClaim]]:
        if not memory_ids:
            return {}
        stmt = select(MemoryClaim).where(MemoryClaim.memory_id.in_(list(memory_ids)))
        out: dict[uuid.UUID, list[MemoryClaim]] = {}
        for claim in self.session.scalars(stmt.order_by(MemoryClaim.id)):
            out.setdefault(claim.memory_id, []).append(claim)
        return out
