"""Search: embed the query once, run the channels concurrently, fuse, load the rows.

At most ``search.concurrency`` searches embed and rank at once (``IndexRegistry.search_slots``):
on a 2-core machine eight concurrent searches each running four channels only make every
one of them slower (and push channels past their budget); queued, they wait their turn and
their channels then run on free cores. The time spent waiting is ``timings_ms.queued``."""

from __future__ import annotations

import time
import uuid

from channels.engine import SearchOutcome, SearchSpec
from channels.registry import channel_names
from service.metrics import record_search
from service.schemas import ChannelRankRead, MemoryRead, SearchHit, SearchRequest, SearchResponse
from service.state import AppState
from storage.errors import InvalidInput
from storage.repositories import MemoryRepository
from storage.types import utcnow


def search(state: AppState, *, tenant_id: uuid.UUID, request: SearchRequest) -> SearchResponse:
    started = time.perf_counter()
    known = channel_names()
    names = request.channels or list(known)
    unknown = sorted(set(names) - set(known))
    unknown += sorted(set(request.weights or {}) - set(known))
    if unknown:
        raise InvalidInput(
            f"Unknown channel(s): {', '.join(unknown)}. Known: {', '.join(known)}.",
            field="channels",
        )
    timings: dict[str, float] = {}
    queued = time.perf_counter()
    with state.indexes.search_slots:
        timings["queued"] = (time.perf_counter() - queued) * 1000.0
        outcome = _ranked(state, tenant_id=tenant_id, request=request, names=names, timings=timings)
    timings.update(outcome.timings_ms)
    return _response(
        state,
        tenant_id=tenant_id,
        request=request,
        outcome=outcome,
        timings=timings,
        started=started,
    )


def _ranked(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    request: SearchRequest,
    names: list[str],
    timings: dict[str, float],
) -> SearchOutcome:
    """Plan, embed (the engine asks for the query parts' embeddings when a channel that
    reads vectors runs) and rank: the CPU-bound part of a search."""
    spec = SearchSpec(
        text=request.query,
        reference_time=request.reference_time or utcnow(),
        limit=request.limit,
        embed=state.embedder.embed,
        user_id=request.user_id,
        agent_id=request.agent_id,
        session_id=request.session_id,
        metadata=request.filters,
        channels=names,
        weights=request.weights,
        depth=state.settings.search.depth,
    )
    return state.indexes.engine(tenant_id).search(spec)


def _response(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    request: SearchRequest,
    outcome: SearchOutcome,
    timings: dict[str, float],
    started: float,
) -> SearchResponse:
    """Load the hits' rows (by primary key) and shape the answer."""
    record_search(state, timings_ms=outcome.timings_ms, missing=outcome.missing)
    with state.sessions() as session:
        rows = MemoryRepository(session).get_many(
            tenant_id=tenant_id, ids=[h.memory_id for h in outcome.hits]
        )
    results = []
    for hit in outcome.hits:
        row = rows.get(hit.memory_id)
        relevance = round(hit.relevance, 4)  # filtered on the value the client sees
        if row is None or relevance < request.min_relevance:  # or deleted meanwhile
            continue
        results.append(
            SearchHit(
                memory=MemoryRead.of(row),
                score=hit.fused.score,
                relevance=relevance,
                channels={
                    name: ChannelRankRead(rank=r.rank, score=r.score)
                    for name, r in hit.fused.channels.items()
                },
                explanation={k: dict(v) for k, v in hit.why.items()} if request.explain else None,
            )
        )
    state.access.record(tenant_id, [r.memory.id for r in results])
    timings["total"] = (time.perf_counter() - started) * 1000.0
    return SearchResponse(
        results=results,
        timings_ms={k: round(v, 3) for k, v in timings.items()},
        missing_channels=outcome.missing,
        weights=outcome.weights if request.explain else None,
        adaptation=outcome.explain if request.explain else None,
    )
