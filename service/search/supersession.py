"""How supersession shapes a search answer: the chain order, the explanations, and what a
hit showed at ``known_at``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from channels.engine import ResultHit
from channels.fusion import FusedHit
from service.schemas import MemoryRead, SearchRequest
from service.state import AppState
from storage.models import Memory
from storage.repositories import MemoryRepository
from storage.repositories.supersession import SupersessionRepository

MAX_CHAIN = 20
"""Successors followed at most (a chain longer than this is cut; the current memory of a
very long chain is then not pulled in)."""


def _successor(row: Memory) -> uuid.UUID | None:
    return row.replaced_by


def with_successors(
    state: AppState,
    tenant_id: uuid.UUID,
    hits: Sequence[ResultHit],
    rows: dict[uuid.UUID, Memory],
    *,
    limit: int,
) -> list[ResultHit]:
    """The chain: every superseded hit's successors (up to the current memory) are in the
    answer - one not ranked by the channels is pulled in at its best predecessor's score,
    with no channel ranks - and each memory ranks above what it replaced. At most ``limit``."""
    wanted = {r.replaced_by for r in rows.values() if r.replaced_by is not None} - set(rows)
    with state.sessions() as session:
        repo = MemoryRepository(session)
        for _ in range(MAX_CHAIN):
            if not wanted:
                break
            found = repo.get_many(tenant_id=tenant_id, ids=list(wanted))
            rows.update(found)
            wanted = {r.replaced_by for r in found.values() if r.replaced_by is not None}
            wanted -= set(rows)
    listed = {h.memory_id for h in hits}
    best: dict[uuid.UUID, ResultHit] = {}
    for hit in hits:
        successor = rows[hit.memory_id].replaced_by
        while successor is not None and successor in rows and successor not in listed:
            best.setdefault(successor, hit)
            successor = rows[successor].replaced_by
    pulled = [
        ResultHit(
            memory_id,
            FusedHit(key=-1, score=source.fused.score, channels={}),
            {"chain": {"pulled_in_for": str(source.memory_id)}},
            source.relevance,  # it stands for what the channels found relevant
        )
        for memory_id, source in best.items()
    ]
    ordered = sorted([*hits, *pulled], key=lambda h: -h.fused.score)
    return below_successors(ordered, rows)[:limit]


def below_successors(
    hits: Sequence[ResultHit], rows: Mapping[uuid.UUID, Memory]
) -> list[ResultHit]:
    """Current hits in fused order, each followed by the hits it replaced (transitively,
    newest first): a superseded memory never ranks above its successor. A superseded hit
    whose successor is not among the hits follows the current hits, in fused order."""
    listed = {h.memory_id for h in hits}
    below: dict[uuid.UUID, list[ResultHit]] = {}
    orphans: list[ResultHit] = []
    for hit in hits:
        successor = _successor(rows[hit.memory_id])
        if successor is None:
            continue
        if successor in listed:
            below.setdefault(successor, []).append(hit)
        else:
            orphans.append(hit)
    out: list[ResultHit] = []

    def place(hit: ResultHit) -> None:
        out.append(hit)
        for older in below.pop(hit.memory_id, []):
            place(older)

    for hit in hits:
        if _successor(rows[hit.memory_id]) is None:
            place(hit)
    for hit in orphans:
        place(hit)
    for rest in below.values():  # a cycle cannot happen; kept for safety
        out.extend(h for h in rest if h not in out)
    return out


def supersession_notes(
    state: AppState, tenant_id: uuid.UUID, request: SearchRequest, rows: Mapping[uuid.UUID, Memory]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Why each hit was preferred or demoted, for ``explain``."""
    with state.sessions() as session:
        links = SupersessionRepository(session).replaced(tenant_id=tenant_id, memory_ids=list(rows))
    replaced: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for link in links:
        detail = link.detail or {}
        item = {"memory_id": str(link.other_id), "kind": detail.get("kind", "explicit")}
        if "attribute" in detail:
            item |= {
                "attribute": detail["attribute"],
                "previous_value": detail.get("previous_value"),
                "value": detail.get("value"),
            }
        replaced.setdefault(link.memory_id, []).append(item)
    out: dict[uuid.UUID, dict[str, Any]] = {}
    view = "as_of" if request.as_of else "known_at" if request.known_at else "now"
    for memory_id, row in rows.items():
        note: dict[str, Any] = {}
        if row.replaced_by is not None:
            current_then = (
                request.as_of is not None
                and row.occurred_at <= request.as_of
                and (row.valid_until is None or request.as_of < row.valid_until)
            ) or (
                request.known_at is not None
                and row.superseded_at is not None
                and request.known_at < row.superseded_at
            )
            if current_then:
                note["status"] = f"current at {view}"
                note["reason"] = f"valid then; later replaced by {row.replaced_by}"
            else:
                note["status"] = "superseded"
                note["reason"] = f"demoted: replaced by {row.replaced_by}, ranked below it"
            note["superseded_by"] = str(row.replaced_by)
            note["superseded_at"] = row.superseded_at.isoformat() if row.superseded_at else None
            note["valid_until"] = row.valid_until.isoformat() if row.valid_until else None
        if memory_id in replaced:
            note.setdefault("status", "current")
            note["reason"] = (
                note.get("reason") or "preferred: the newest statement of what it replaced"
            )
            note["supersedes"] = replaced[memory_id]
        if note:
            out[memory_id] = note
    return out


KNOWN_FIELDS = ("content", "metadata", "occurred_at", "importance", "pinned")
"""What a hit shows as of ``known_at``: the client-written fields the history records."""


def as_known_at(
    state: AppState, tenant_id: uuid.UUID, reads: Sequence[MemoryRead], known_at: datetime
) -> list[MemoryRead]:
    """``reads`` as the store knew them at ``known_at`` (transaction time): every field an
    update after then changed is put back to its value before the first such update, from
    the history (``changes[field]["from"]``)."""
    with state.sessions() as session:
        events = MemoryRepository(session).updates_after(
            tenant_id=tenant_id, ids=[r.id for r in reads], after=known_at
        )
    before: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:  # oldest first: the first change of a field holds its old value
        fields = before.setdefault(event.memory_id, {})
        for name in KNOWN_FIELDS:
            change = (event.changes or {}).get(name)
            if isinstance(change, dict) and "from" in change and name not in fields:
                fields[name] = change["from"]
    return [
        MemoryRead.model_validate({**r.model_dump(), **before[r.id]}) if r.id in before else r
        for r in reads
    ]
