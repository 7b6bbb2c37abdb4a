"""The decay pass over one batch: recompute each memory's strength and tier, and store its
embedding at the tier's precision. Idempotent (the same ``now`` twice changes nothing) and
safe beside API writes: every change goes through the row's optimistic ``version``, so a
memory edited concurrently makes its batch roll back; it is picked up by the next run.

Stability is derived from the retrieval count, so the pass keeps no extra state:
``S = S0 * (1 + growth / 2) ** min(access_count, 20)`` (each retrieval raises it; see
``lifecycle.decay``), and ``t`` runs from the last access, or from creation.
Coarsening decodes the stored code and re-encodes it with fewer bits; a memory that must
move to a finer tier (it was retrieved again) is re-embedded from its text by ``embed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from lifecycle.decay import TIER_BITS, DecayPolicy, strength, tier_for
from lifecycle.types import Embed
from storage.models import Memory
from storage.quantization import Code, decode, encode
from storage.repositories import MemoryRepository


@dataclass
class RunReport:
    examined: int = 0
    changed: int = 0
    skipped_conflicts: int = 0
    moves: dict[str, int] = field(default_factory=dict)
    bytes_before: int = 0
    bytes_after: int = 0
    consolidated: int = 0
    merged: int = 0
    contradictions: int = 0
    superseded: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stability_of(row: Memory, policy: DecayPolicy) -> float:
    return policy.initial_stability * (1 + policy.growth / 2) ** min(row.access_count, 20)


def _recode(row: Memory, bits: int, embed: Embed | None) -> tuple[bytes, float, int] | None:
    if row.embedding is None or not row.embedding_dim:
        return None
    if bits <= row.embedding_bits:
        vector = decode(
            Code(row.embedding_bits, row.embedding_scale, row.embedding), row.embedding_dim
        )
    elif embed is not None:
        vector = embed([row.content])[0]
    else:
        return None  # cannot refine without the model; stays coarse until a run with one
    code = encode(vector, bits)
    return code.payload, code.scale, bits


def decay_rows(
    session: Session,
    rows: Sequence[Memory],
    *,
    now: datetime,
    policies: Mapping[Any, DecayPolicy],
    embed: Embed | None,
    report: RunReport,
) -> None:
    """Apply the forgetting curve to ``rows`` (``policies`` by tenant id).

    A tier change is a versioned update with a ``lifecycle`` history event (the change feed
    re-indexes the memory at its new precision); a strength change alone is a plain update of
    ``strength`` / ``stability`` (not an edit: no version bump, no event). A dry run is the
    caller's batch rolling back (``storage.db.batch``).
    """
    repo = MemoryRepository(session)
    quiet: list[tuple[uuid.UUID, float, float]] = []
    for row in rows:
        policy = policies.get(row.tenant_id) or DecayPolicy()
        report.examined += 1
        before = len(row.embedding or b"")
        since = row.last_accessed_at or row.created_at
        stability = stability_of(row, policy)
        value = strength(
            (now - since).total_seconds() / 86_400,
            stability,
            importance=row.importance,
            pinned=row.pinned,
            policy=policy,
        )
        tier = tier_for(value, policy)
        recoded = (
            _recode(row, TIER_BITS[tier], embed) if TIER_BITS[tier] != row.embedding_bits else None
        )
        changed_tier = tier != row.tier and (
            recoded is not None or TIER_BITS[tier] == row.embedding_bits
        )
        if abs(value - row.strength) < 1e-6 and not changed_tier:
            report.bytes_before += before
            report.bytes_after += before
            continue
        report.bytes_before += before
        report.changed += 1
        if not changed_tier:
            # strength alone: no version bump, no history event, nothing to re-index
            quiet.append((row.id, value, stability))
            report.bytes_after += before
            continue
        changes: dict[str, object] = {
            "strength": {"from": round(row.strength, 6), "to": round(value, 6)},
            "tier": {"from": row.tier, "to": tier},
        }
        report.moves[f"{row.tier}->{tier}"] = report.moves.get(f"{row.tier}->{tier}", 0) + 1
        row.strength, row.stability, row.tier = value, stability, tier
        if recoded is not None:
            row.embedding, row.embedding_scale, row.embedding_bits = recoded
        report.bytes_after += len(row.embedding or b"")
        session.flush()
        repo.add_event(memory=row, event="lifecycle", changes=changes, actor="lifecycle")
    if quiet:
        repo.set_strengths(quiet)
