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
from channels.timeline import TimeView
from service.context.tokens import token_counter
from service.memories.prepare import is_expired
from service.metrics import record_search
from service.principals import Binding
from service.schemas import ChannelRankRead, MemoryRead, SearchHit, SearchRequest, SearchResponse
from service.search.supersession import as_known_at, supersession_notes, with_successors
from service.state import AppState
from storage.errors import InvalidInput
from storage.repositories import MemoryRepository
from storage.types import utcnow


def search(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    request: SearchRequest,
    record_access: bool = True,
) -> SearchResponse:
    """Rank the tenant's memories for ``request``, within ``binding``: a bound key's scope
    fills the request's ``user_id`` / ``agent_id`` (another scope is ``Forbidden``).
    ``record_access=False`` leaves the hits' access counts alone (a caller that keeps only
    some of them records those itself)."""
    started = time.perf_counter()
    if binding.bound:
        user_id, agent_id = binding.narrow(request.user_id, request.agent_id)
        request = request.model_copy(update={"user_id": user_id, "agent_id": agent_id})
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
        binding=binding,
        request=request,
        outcome=outcome,
        timings=timings,
        started=started,
        record_access=record_access,
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
        # "last week" in an as_of question means the week before as_of
        reference_time=request.reference_time or request.as_of or utcnow(),
        limit=request.limit,
        embed=state.embedder.embed,
        user_id=request.user_id,
        agent_id=request.agent_id,
        session_id=request.session_id,
        metadata=request.filters,
        channels=names,
        weights=request.weights,
        depth=state.settings.search.depth,
        now=state.clock().timestamp(),
        view=TimeView(
            include_superseded=request.include_superseded,
            as_of=request.as_of.timestamp() if request.as_of else None,
            known_at=request.known_at.timestamp() if request.known_at else None,
        ),
    )
    return state.indexes.engine(tenant_id).search(spec)


def _response(
    state: AppState,
    *,
    tenant_id: uuid.UUID,
    binding: Binding,
    request: SearchRequest,
    outcome: SearchOutcome,
    timings: dict[str, float],
    started: float,
    record_access: bool,
) -> SearchResponse:
    """Load the hits' rows (by primary key) and shape the answer."""
    record_search(state.metrics, timings_ms=outcome.timings_ms, missing=outcome.missing)
    with state.sessions() as session:
        rows = MemoryRepository(session).get_many(
            tenant_id=tenant_id, ids=[h.memory_id for h in outcome.hits]
        )
    now = state.clock()

    def reachable(memory_id: uuid.UUID) -> bool:
        # not deleted or expired since it was ranked, nor rescoped out of the key's binding
        row = rows.get(memory_id)
        return (
            row is not None
            and not is_expired(row, now)
            and binding.admits(row.user_id, row.agent_id)
        )

    hits = [h for h in outcome.hits if reachable(h.memory_id)]
    if request.include_superseded:
        hits = with_successors(state, tenant_id, hits, rows, limit=request.limit)
        hits = [h for h in hits if reachable(h.memory_id)]
    notes = supersession_notes(state, tenant_id, request, rows) if request.explain else {}
    results = []
    for hit in hits:
        row = rows[hit.memory_id]
        relevance = round(hit.relevance, 4)  # filtered on the value the client sees
        if relevance < request.min_relevance:
            continue
        why = {k: dict(v) for k, v in hit.why.items()}
        if hit.memory_id in notes:
            why["supersession"] = notes[hit.memory_id]
        results.append(
            SearchHit(
                memory=MemoryRead.of(row),
                score=hit.fused.score,
                relevance=relevance,
                channels={
                    name: ChannelRankRead(rank=r.rank, score=r.score)
                    for name, r in hit.fused.channels.items()
                },
                explanation=why if request.explain else None,
            )
        )
    if request.known_at is not None and results:  # the text as the store knew it then
        known = as_known_at(state, tenant_id, [r.memory for r in results], request.known_at)
        results = [r.model_copy(update={"memory": m}) for r, m in zip(results, known, strict=True)]
    tokens = None
    if request.max_tokens is not None:
        results, tokens = within_budget(results, request.max_tokens)
    if record_access:
        state.access.record(tenant_id, [r.memory.id for r in results])
    timings["total"] = (time.perf_counter() - started) * 1000.0
    return SearchResponse(
        results=results,
        timings_ms={k: round(v, 3) for k, v in timings.items()},
        missing_channels=outcome.missing,
        weights=outcome.weights if request.explain else None,
        tokens=tokens,
        adaptation=outcome.explain if request.explain else None,
    )


def within_budget(results: list[SearchHit], max_tokens: int) -> tuple[list[SearchHit], int]:
    """The hits, in rank order, whose contents together fit ``max_tokens`` (a hit too long
    for the room left is skipped, a shorter one after it may still fit), and their total."""
    counts = token_counter().count_many([hit.memory.content for hit in results])
    kept: list[SearchHit] = []
    total = 0
    for hit, tokens in zip(results, counts, strict=True):
        if total + tokens <= max_tokens:
            kept.append(hit)
            total += tokens
    return kept, total
