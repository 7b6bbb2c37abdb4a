"""``POST /v1/context``: search, leave out what is replaced or repeated, fit the budget, render.

1. The query runs through the fused search (``candidates`` hits, scope and filters as given).
2. Superseded memories are left out: a consolidated source (``superseded_by``) or one marked
   ``superseded_at`` by a newer memory. Near-duplicates of a better-ranked hit are left out.
3. Contradictions the lifecycle recorded (``contradicts`` links) mark the newer memory
   ``current`` and the older ``outdated``.
4. The best-ranked memories that fit ``max_tokens`` are kept and rendered grouped by session
   (or day), chronologically (``render.py``, ``select.py``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from service.context.render import Entry, Status
from service.context.schemas import ContextOmitted, ContextRequest, ContextResponse
from service.context.select import dedupe, fit
from service.context.tokens import token_counter
from service.principals import Binding
from service.schemas import MemoryRead, SearchRequest
from service.search import service as search_service
from service.state import AppState
from storage.repositories import LinkRepository

SPEAKER_KEYS = ("speaker", "source", "author", "role")
"""Metadata keys naming who said or where a memory came from, in order of preference."""


def speaker_of(memory: MemoryRead) -> str | None:
    for key in SPEAKER_KEYS:
        value: Any = memory.metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return memory.user_id or memory.agent_id


def is_superseded(memory: MemoryRead) -> bool:
    # ``superseded_at`` (a newer memory replaced this one) arrives with its own migration;
    # until then only consolidation sets ``superseded_by``
    return memory.superseded_by is not None or getattr(memory, "superseded_at", None) is not None


def statuses(
    state: AppState, *, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Status]:
    """``current`` for the newer side of a recorded contradiction, ``outdated`` for the older
    (outdated wins when a memory is both: something newer contradicts it)."""
    with state.sessions() as session:
        pairs = LinkRepository(session).contradictions_touching(tenant_id=tenant_id, ids=ids)
    marks: dict[uuid.UUID, Status] = {}
    for newer, older in pairs:
        marks.setdefault(newer, "current")
        marks[older] = "outdated"
    return marks


def build_context(
    state: AppState, *, tenant_id: uuid.UUID, binding: Binding, request: ContextRequest
) -> ContextResponse:
    """The block for ``request``, from the memories ``binding`` reaches (a bound key's
    scope fills the request's ``user_id`` / ``agent_id``, as in search)."""
    started = time.perf_counter()
    found = search_service.search(
        state,
        tenant_id=tenant_id,
        binding=binding,
        request=SearchRequest(
            query=request.query,
            user_id=request.user_id,
            agent_id=request.agent_id,
            session_id=request.session_id,
            filters=request.filters,
            reference_time=request.reference_time,
            limit=request.candidates,
        ),
        record_access=False,
    )
    searched = time.perf_counter()
    live = [hit.memory for hit in found.results if not is_superseded(hit.memory)]
    superseded = len(found.results) - len(live)
    marks = statuses(state, tenant_id=tenant_id, ids=[m.id for m in live])
    ranked = [
        Entry(
            id=m.id,
            text=m.content,
            occurred_at=m.occurred_at,
            session_id=m.session_id,
            speaker=speaker_of(m),
            status=marks.get(m.id),
        )
        for m in live
    ]
    unique, duplicates = dedupe(ranked)
    counter = token_counter()
    fitted = fit(
        unique,
        max_tokens=request.max_tokens,
        fmt=request.format,
        count=counter.count,
        count_many=counter.count_many,
    )
    used = [e.id for e in fitted.entries]
    by_id = {hit.memory.id: hit for hit in found.results}
    state.access.record(tenant_id, used)
    done = time.perf_counter()
    return ContextResponse(
        context=fitted.block,
        memory_ids=used,
        tokens=fitted.tokens,
        max_tokens=request.max_tokens,
        format=request.format,
        tokenizer=counter.name,
        omitted=ContextOmitted(
            duplicates=duplicates, superseded=superseded, over_budget=fitted.over_budget
        ),
        timings_ms={
            "search": found.timings_ms.get("total", 0.0),
            "assemble": round((done - searched) * 1000.0, 3),
            "total": round((done - started) * 1000.0, 3),
        },
        hits=[by_id[i] for i in used] if request.include_hits else None,
    )
