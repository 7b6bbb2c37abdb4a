"""Supersession against the database: link, settle, detect, release and undo.

A memory's ``replaced_by`` / ``superseded_at`` / ``valid_until`` are always *derived* from
the ``supersedes`` links to it (``settle``): the latest link names the successor, its time
is when the store learnt it (transaction time), and the successor's ``occurred_at`` ends the
memory's valid time. Every change of them is a versioned update with a ``superseded`` or
``restored`` history event, so the change feed re-indexes the memory everywhere. Because the
columns are derived, undo is exact: removing a link (``undo``) or the memory that made it
(``release``, before a delete) and settling again restores what was there before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lifecycle.claims import Claim, Stated, extract_claims, outdated
from storage.db import batch
from storage.models import Memory, MemoryLink
from storage.repositories import LifecycleScanRepository, MemoryRepository
from storage.repositories.supersession import DISMISSED, SupersessionRepository
from storage.types import utcnow

Names = Callable[[str], Collection[str]]


def speaker_of(row: Memory) -> str:
    """Who "I" is in a memory: its ``speaker`` metadata, else its user, else "user"."""
    speaker = (row.meta or {}).get("speaker")
    return speaker if isinstance(speaker, str) and speaker.strip() else (row.user_id or "user")


def claims_of(row: Memory, names: Names | None) -> list[Claim]:
    return extract_claims(
        row.content, speaker=speaker_of(row), names=None if names is None else names(row.content)
    )


def settle(session: Session, memory: Memory, *, actor: str) -> bool:
    """Derive ``memory``'s supersession columns from its links; True if they changed."""
    links = SupersessionRepository(session).superseders(
        tenant_id=memory.tenant_id, memory_id=memory.id
    )
    target: tuple[uuid.UUID | None, Any, Any] = (None, None, None)
    detail: dict[str, Any] = {}
    if links:
        link = links[-1]
        successor = MemoryRepository(session).get(
            tenant_id=memory.tenant_id, memory_id=link.memory_id
        )
        if successor is not None:
            target = (successor.id, link.created_at, successor.occurred_at)
            detail = dict(link.detail or {})
    if (memory.replaced_by, memory.superseded_at, memory.valid_until) == target:
        return False
    memory.replaced_by, memory.superseded_at, memory.valid_until = target
    session.flush()  # the version check: a concurrent edit aborts the whole change
    if target[0] is not None:
        changes = {"superseded_by": str(target[0]), "kind": detail.get("kind", "explicit")}
        MemoryRepository(session).add_event(
            memory=memory, event="superseded", changes=changes, actor=actor
        )
    else:
        MemoryRepository(session).add_event(
            memory=memory, event="restored", changes={}, actor=actor
        )
    return True


def supersede(
    session: Session, *, new: Memory, old: Memory, detail: dict[str, Any], actor: str
) -> MemoryLink:
    """Record that ``new`` replaces ``old`` and settle ``old``."""
    link = SupersessionRepository(session).add(
        tenant_id=new.tenant_id, memory_id=new.id, other_id=old.id, detail=detail
    )
    settle(session, old, actor=actor)
    return link


def release(session: Session, memory: Memory, *, actor: str) -> list[Memory]:
    """Before ``memory`` is deleted: drop its supersession links and restore (settle) the
    memories it replaced. Returns the memories whose columns changed."""
    repo = SupersessionRepository(session)
    links = repo.remove_for(tenant_id=memory.tenant_id, memory_id=memory.id)
    replaced = [link.other_id for link in links if link.memory_id == memory.id]
    found = MemoryRepository(session).get_many(tenant_id=memory.tenant_id, ids=replaced)
    return [row for row in found.values() if settle(session, row, actor=actor)]


def undo(session: Session, link: MemoryLink, *, actor: str) -> Memory | None:
    """Undo one supersession: a detected one is kept as ``dismissed`` (never detected again),
    an explicit one is removed. Returns the replaced memory if its columns changed."""
    if (link.detail or {}).get("kind") == "detected":
        link.relation = DISMISSED
        link.detail = {**(link.detail or {}), "dismissed_at": utcnow().isoformat()}
        session.flush()
    else:
        SupersessionRepository(session).remove(link)
    other = MemoryRepository(session).get(tenant_id=link.tenant_id, memory_id=link.other_id)
    if other is not None and settle(session, other, actor=actor):
        return other
    return None


def _statements(rows: Sequence[Memory], claims: dict[uuid.UUID, list[Claim]]) -> list[Stated]:
    return [
        Stated(memory=row.id, order=(row.occurred_at, row.created_at), claim=claim)
        for row in rows
        for claim in claims.get(row.id, [])
    ]


def _apply(
    session: Session,
    rows: dict[uuid.UUID, Memory],
    statements: list[Stated],
    *,
    must_involve: set[uuid.UUID] | None,
    source: str,
    actor: str,
) -> list[Memory]:
    """Supersede what ``statements`` outdate (skipping pairs already linked or dismissed)."""
    found = outdated(statements)
    if must_involve is not None:
        found = [o for o in found if o.new in must_involve or o.old in must_involve]
    if not found:
        return []
    tenant_id = next(iter(rows.values())).tenant_id
    known = SupersessionRepository(session).known_pairs(
        tenant_id=tenant_id, memory_ids=[i for o in found for i in (o.new, o.old)]
    )
    touched: list[Memory] = []
    for o in found:
        old, new = rows[o.old], rows[o.new]
        if frozenset((o.new, o.old)) in known or old.replaced_by is not None:
            continue
        detail = {
            "kind": "detected",
            "source": source,
            "subject": o.claim.subject,
            "attribute": o.claim.attribute,
            "value": o.claim.value,
            "previous_value": o.previous.value,
        }
        supersede(session, new=new, old=old, detail=detail, actor=actor)
        touched.append(old)
    return touched


def detect_on_write(
    session: Session,
    written: Sequence[Memory],
    *,
    names: Names | None,
    fresh: bool,
    actor: str = "api",
) -> list[Memory]:
    """Store the claims of freshly written (or edited) memories and supersede what they
    outdate in their scope (or what outdates them: a memory written late about an earlier
    time). Candidates come from the claim index, not a scan. ``fresh``: the rows were
    created in this transaction (no claims stored yet). Returns the superseded rows (ORM
    rows of this session)."""
    repo = SupersessionRepository(session)
    claims = {row.id: claims_of(row, names) for row in written}
    for row in written:
        if claims[row.id] or not fresh:
            found = [(c.subject, c.attribute, c.value) for c in claims[row.id]]
            repo.set_claims(memory=row, claims=found, fresh=fresh)
    touched: list[Memory] = []
    by_scope: dict[tuple[str | None, str | None], list[Memory]] = {}
    for row in written:
        if claims[row.id]:
            by_scope.setdefault((row.user_id, row.agent_id), []).append(row)
    for (user_id, agent_id), group in by_scope.items():
        ids = [r.id for r in group]
        keys = {(c.subject, c.attribute) for r in group for c in claims[r.id]}
        others = repo.current_claimants(
            tenant_id=group[0].tenant_id, user_id=user_id, agent_id=agent_id, keys=keys, exclude=ids
        )
        stored = repo.claims_of([r.id for r in others])
        for row in others:
            claims[row.id] = [
                Claim(c.subject, c.attribute, c.value) for c in stored.get(row.id, [])
            ]
        # the written rows as ORM rows of this session (a batch is inserted by Core)
        own = MemoryRepository(session).get_many(tenant_id=group[0].tenant_id, ids=ids)
        rows = {**own, **{r.id: r for r in others}}
        live = [rows[i] for i in ids if i in rows and rows[i].replaced_by is None] + others
        touched += _apply(
            session,
            rows,
            _statements(live, claims),
            must_involve=set(ids),
            source="write",
            actor=actor,
        )
    return touched


@dataclass
class DetectReport:
    superseded: int = 0
    claims_backfilled: int = 0
    pairs: list[dict[str, str]] = field(default_factory=list)


def detect_tenant(
    sessions: sessionmaker[Session],
    tenant_id: uuid.UUID,
    *,
    names: Names | None,
    dry_run: bool,
    report: DetectReport,
) -> None:
    """The lifecycle's pass: every current memory of the tenant, by scope, read for claims
    (stored where missing: memories imported or written before claims existed) and
    superseded where a newer memory outdates it."""
    with batch(sessions, dry_run=dry_run) as session:
        rows = LifecycleScanRepository(session).active(tenant_id, include_pinned=True)
        repo = SupersessionRepository(session)
        stored = repo.claims_of([r.id for r in rows])
        by_scope: dict[tuple[str | None, str | None], list[Memory]] = {}
        claims: dict[uuid.UUID, list[Claim]] = {}
        for row in rows:
            found = claims_of(row, names)
            if not found:
                continue
            claims[row.id] = found
            if row.id not in stored:
                repo.set_claims(
                    memory=row,
                    claims=[(c.subject, c.attribute, c.value) for c in found],
                    fresh=True,
                )
                report.claims_backfilled += 1
            by_scope.setdefault((row.user_id, row.agent_id), []).append(row)
        for group in by_scope.values():
            touched = _apply(
                session,
                {r.id: r for r in group},
                _statements(group, claims),
                must_involve=None,
                source="lifecycle",
                actor="lifecycle",
            )
            report.superseded += len(touched)
            for row in touched[: max(0, 100 - len(report.pairs))]:
                report.pairs.append({"old": str(row.id), "new": str(row.replaced_by)})
