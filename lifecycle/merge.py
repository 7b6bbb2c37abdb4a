"""Consolidation and contradiction flags against the database, and undoing a consolidation.

Each merge is one transaction: the consolidated memory is created, its sources point at it
(``superseded_by``, a ``consolidated`` history event, a ``consolidates`` link), or nothing
happens at all. Sources are never deleted: they stay readable by id and through history; the
consolidated memory serves them in search (its text keeps every word of every source, see
``lifecycle.consolidate``). Deleting or editing a source, or deleting the consolidated memory,
dissolves the consolidation (``dissolve``): the sources come back as they were.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from lifecycle.consolidate import clusters, extractive_summary, token_overlap, words
from lifecycle.contradictions import Stated, contradictions, extract_claims
from lifecycle.decay import TIERS
from lifecycle.policy import ConsolidationPolicy
from lifecycle.supersession import release
from lifecycle.types import Embed
from storage.db import batch, is_write_conflict
from storage.factory import StoredEmbedding, new_memory
from storage.models import Memory
from storage.quantization import Code, decode, encode, normalize
from storage.repositories import LifecycleScanRepository, LinkRepository, MemoryRepository

MAX_CONSOLIDATED_CHARS = 32_000


@dataclass
class MergeReport:
    consolidated: int = 0
    merged: int = 0
    contradictions: int = 0
    skipped_conflicts: int = 0
    bytes_delta: int = 0
    merges: list[dict[str, Any]] = field(default_factory=list)


def _groups(rows: list[Memory]) -> list[list[Memory]]:
    by_scope: dict[tuple[str | None, str | None], list[Memory]] = {}
    for row in rows:
        by_scope.setdefault((row.user_id, row.agent_id), []).append(row)
    return list(by_scope.values())


def _vector(row: Memory) -> np.ndarray:
    return decode(
        Code(row.embedding_bits, row.embedding_scale, row.embedding or b""), row.embedding_dim
    )


def consolidate_tenant(
    sessions: sessionmaker[Session],
    tenant_id: uuid.UUID,
    policy: ConsolidationPolicy,
    *,
    now: datetime,
    embed: Embed | None,
    dry_run: bool,
    report: MergeReport,
) -> None:
    with sessions() as session:
        scan = LifecycleScanRepository(session)
        rows = [
            r for r in scan.active(tenant_id, include_pinned=policy.include_pinned) if r.embedding
        ]
    for group in _groups(rows):
        group = group[-policy.max_group :]
        dims = {r.embedding_dim for r in group}
        if len(group) < 2 or len(dims) != 1:
            continue
        vectors = np.stack([_vector(r) for r in group])
        found = clusters(
            vectors,
            [words(r.content) for r in group],
            min_cosine=policy.min_cosine,
            min_overlap=policy.min_token_overlap,
        )
        for members in found:
            ids = [group[i].id for i in members]
            try:
                with batch(sessions, dry_run=dry_run) as session:
                    _merge(session, tenant_id, ids, now=now, embed=embed, report=report)
            except Exception as exc:  # a source was edited or locked meanwhile: next run
                if not is_write_conflict(exc):
                    raise
                report.skipped_conflicts += 1


def _merge(
    session: Session,
    tenant_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    now: datetime,
    embed: Embed | None,
    report: MergeReport,
) -> None:
    repo = MemoryRepository(session)
    repo.lock(tenant_id=tenant_id, ids=ids)  # in id order: the sources change one by one
    found = repo.get_many(tenant_id=tenant_id, ids=ids)
    rows = [found[i] for i in ids if i in found and found[i].superseded_by is None]
    if len(rows) < 2:
        return
    rows.sort(key=lambda r: (r.occurred_at, r.created_at, r.id))
    text = extractive_summary([r.content for r in rows])
    if len(text) > MAX_CONSOLIDATED_CHARS:
        return
    if embed is not None:
        vector = embed([text])[0]
    else:
        vector = np.mean([normalize(_vector(r)) for r in rows], axis=0)
    bits = max(r.embedding_bits for r in rows)
    code = encode(vector, bits)
    shared = {k: v for k, v in rows[0].meta.items() if all(r.meta.get(k) == v for r in rows[1:])}
    merged = new_memory(
        tenant_id=tenant_id,
        content=text,
        created_at=now,
        embedding=StoredEmbedding(
            code.payload, bits, code.scale, rows[0].embedding_model, rows[0].embedding_dim
        ),
        user_id=rows[0].user_id,
        agent_id=rows[0].agent_id,
        session_id=rows[0].session_id if len({r.session_id for r in rows}) == 1 else None,
        metadata={**shared, "consolidated_from": len(rows)},
        occurred_at=rows[0].occurred_at,
        importance=max(r.importance for r in rows),
        pinned=any(r.pinned for r in rows),
        access_count=sum(r.access_count for r in rows),
        # it inherits its sources' age: the forgetting curve runs from their latest activity
        last_accessed_at=max(r.last_accessed_at or r.created_at for r in rows),
        strength=max(r.strength for r in rows),
        stability=max(r.stability for r in rows),
        tier=min((r.tier for r in rows), key=TIERS.index),
    )
    repo, links = MemoryRepository(session), LinkRepository(session)
    repo.add([merged])
    sources = [str(r.id) for r in rows]
    repo.add_event(
        memory=merged,
        event="created",
        changes={"content": text, "consolidated_from": sources},
        actor="lifecycle",
    )
    seed = words(rows[0].content)
    for row in rows:
        row.superseded_by = merged.id
        session.flush()  # the version check: a concurrent edit aborts the whole merge
        repo.add_event(
            memory=row,
            event="consolidated",
            changes={"superseded_by": str(merged.id)},
            actor="lifecycle",
        )
        links.add(
            tenant_id=tenant_id,
            memory_id=merged.id,
            other_id=row.id,
            relation="consolidates",
            detail={"token_overlap": round(token_overlap(seed, words(row.content)), 3)},
        )
    report.consolidated += 1
    report.merged += len(rows)
    report.bytes_delta += len(code.payload) - sum(len(r.embedding or b"") for r in rows)
    if len(report.merges) < 100:
        report.merges.append({"into": str(merged.id), "sources": sources})


def flag_contradictions(
    sessions: sessionmaker[Session], tenant_id: uuid.UUID, *, dry_run: bool, report: MergeReport
) -> None:
    with batch(sessions, dry_run=dry_run) as session:
        rows = LifecycleScanRepository(session).active(tenant_id, include_pinned=True)
        pairs: list[tuple[Stated, Stated]] = []
        for group in _groups(rows):
            statements = [
                Stated(memory=r.id, order=(r.occurred_at, r.created_at), claim=claim)
                for r in group
                for claim in extract_claims(
                    r.content, speaker=str(r.meta.get("speaker") or r.user_id or "user")
                )
            ]
            pairs.extend(contradictions(statements))
        links = LinkRepository(session)
        keys = [(new.memory, old.memory) for new, old in pairs]
        seen = links.existing(relation="contradicts", pairs=keys)  # type: ignore[arg-type]
        for new, old in pairs:
            key = (new.memory, old.memory)
            if key in seen:
                continue
            seen.add(key)  # type: ignore[arg-type]
            links.add(
                tenant_id=tenant_id,
                memory_id=new.memory,  # type: ignore[arg-type]
                other_id=old.memory,  # type: ignore[arg-type]
                relation="contradicts",
                detail={
                    "entity": new.claim.entity,
                    "attribute": new.claim.attribute,
                    "value": new.claim.value,
                    "previous_value": old.claim.value,
                },
            )
            report.contradictions += 1


@dataclass
class Dissolved:
    restored: list[Memory] = field(default_factory=list)
    removed: list[uuid.UUID] = field(default_factory=list)


def dissolve(session: Session, row: Memory, *, keep_row: bool) -> Dissolved:
    """Undo every consolidation that holds ``row``'s text: before ``row`` is deleted or edited.

    Consolidated memories above ``row`` are removed (derived text, with their history
    scrubbed) and their sources restored; if ``row`` is itself consolidated its sources are
    restored too, and ``row`` is removed unless ``keep_row`` (an edit keeps it).
    """
    repo, links = MemoryRepository(session), LinkRepository(session)
    out = Dissolved()
    chain: list[Memory] = []
    parent = row.superseded_by
    while parent is not None:
        above = repo.get(tenant_id=row.tenant_id, memory_id=parent)
        if above is None:
            break
        chain.append(above)
        parent = above.superseded_by
    targets = [*reversed(chain), row]
    sources_of = {t.id: links.sources_of(tenant_id=row.tenant_id, memory_id=t.id) for t in targets}
    # every row this changes, locked now in id order, like every multi-row writer (the
    # lifecycle's batches, the access flush): changed one by one below, they could deadlock
    repo.lock(
        tenant_id=row.tenant_id,
        ids=[*sources_of, *(s for ids in sources_of.values() for s in ids)],
    )
    own_sources: list[uuid.UUID] = []
    for target in targets:
        sources = sources_of[target.id]
        if target is row:
            own_sources = sources
        for source in repo.get_many(tenant_id=row.tenant_id, ids=sources).values():
            if source.superseded_by == target.id and source is not row:
                source.superseded_by = None
                session.flush()
                repo.add_event(memory=source, event="restored", changes={}, actor="api")
                out.restored.append(source)
        if target is not row:
            # what the removed consolidated memory replaced is current again
            out.restored += release(session, target, actor="api")
            links.remove_for(tenant_id=row.tenant_id, memory_id=target.id)
            repo.scrub_history(tenant_id=row.tenant_id, memory_id=target.id)
            repo.add_event(memory=target, event="deleted", changes={}, actor="api")
            repo.delete(target)
            out.removed.append(target.id)
    if own_sources or not keep_row:
        links.remove_for(tenant_id=row.tenant_id, memory_id=row.id)
    if row.superseded_by is not None:
        row.superseded_by = None
    out.restored = [r for r in out.restored if r.id not in out.removed]
    return out
