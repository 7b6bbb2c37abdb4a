"""One search, start to end: plan the query, run the channels on its parts, adapt the
weights to the evidence, fuse, ask a second time with feedback from the first pass, fuse
again, and estimate each hit's relevance.

    plan (channels.query_plan) -> first pass: every channel x every part, merged per channel
    -> weights (channels.adaptive) -> fuse (channels.fusion)
    -> second pass (channels.feedback): channels re-asked with RM3 terms / the Rocchio
       vector, plus the top hits' conversation neighbours -> fuse again
    -> relevance (channels.relevance)

Nothing here names a channel: what a channel needs and how it is re-asked come from its
``ChannelSpec``. The engine (``channels.engine``) owns the indexes, the thread pool and the
time budgets; this module only decides what to ask and how to combine the answers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from channels.adaptive import adapt
from channels.base import FloatArray, Hit, KeyArray, Query
from channels.entities import extract_entities
from channels.feedback import (
    FEEDBACK_DOCS,
    NEIGHBOUR_SHARE,
    SHARE,
    neighbour_hits,
    rm3_terms,
    rocchio,
)
from channels.fusion import FusedHit, fuse
from channels.query_plan import QueryPlan, combine_parts, plan_query
from channels.recall import Tuning
from channels.registry import boosts
from channels.relevance import relevance

if TYPE_CHECKING:
    from channels.engine import RetrievalEngine, SearchOutcome, SearchSpec

NEIGHBOURS = "neighbours"
SPEAKER = "speaker"
FEEDBACK = "+feedback"


def run_search(engine: RetrievalEngine, spec: SearchSpec) -> SearchOutcome:
    from channels.engine import ResultHit, SearchOutcome

    started = time.perf_counter()
    tuning = spec.tuning or engine.tuning
    names = [n for n in (spec.channels or list(engine.channels)) if n in engine.channels]
    plan = plan_query(spec.text, split_dialogue=tuning.split_dialogue)
    timings: dict[str, float] = {}
    vectors = _part_vectors(engine, spec, plan, names, timings)
    allowed, dropped = _scope(engine, spec)
    depth = max(spec.depth, spec.limit)
    fetch = depth + len(dropped)  # over-fetched by the keys dropped after ranking
    tasks: dict[str, tuple[str, Query]] = {}
    for index, part in enumerate(plan.parts):
        for name in names:
            key = name if index == 0 else f"{name}@{part.role}"
            query = Query(part.text, spec.reference_time, fetch, vectors[index], allowed)
            tasks[key] = (name, query)
    results, ran, missing = engine.run_channels(tasks)
    timings.update(ran)
    rankings: dict[str, list[Hit]] = {}
    for name in names:
        if name in missing:
            continue
        lists = [_clean(results.get(name, []), dropped, depth)]
        lists += [
            _clean(results.get(f"{name}@{p.role}", []), dropped, depth) for p in plan.parts[1:]
        ]
        rankings[name] = combine_parts(lists, [p.weight for p in plan.parts], depth)
    for key in list(missing):
        if "@" in key:  # a context part that ran late only weakens its channel
            missing.pop(key)

    base = {n: w for n, w in engine.weights.items() if n in rankings}
    rules = boosts(plan.focus) if tuning.boosts else {}
    adapted = adapt(base, rankings, boosts=rules, evidence=tuning.evidence)
    weights, reasons = adapted.weights, adapted.reasons
    for name, given in (spec.weights or {}).items():
        if name in rankings:
            weights[name] = float(given)
            reasons[name] = ["given with the request"]
    first = fuse(rankings, weights=weights, k=engine.rrf_k, limit=depth)

    extra, extra_weights, added = _second_pass(
        engine, spec, plan, vectors, first, rankings, weights, allowed, fetch, tuning
    )
    extra = {name: _clean(hits, dropped, depth) for name, hits in extra.items()}
    timings.update({k: v for k, v in added.pop("timings", {}).items()})
    fused = fuse(
        {**rankings, **extra},
        weights={**weights, **extra_weights},
        k=engine.rrf_k,
        limit=spec.limit,
    )

    whys: dict[int, dict[str, Mapping[str, Any]]] = {}
    for name, hits in rankings.items():
        for hit in hits:
            whys.setdefault(hit.key, {})[name] = hit.why
    out: list[ResultHit] = []
    for position, item in enumerate(fused, start=1):
        memory_id = engine.catalog.memory_id(item.key)
        if memory_id is None:
            continue
        own = {n: r for n, r in item.channels.items() if n in rankings}
        why: dict[str, Mapping[str, Any]] = {
            n: engine.explained(w) for n, w in whys.get(item.key, {}).items()
        }
        via = {n: r.rank for n, r in item.channels.items() if n not in rankings}
        if via:
            why["feedback"] = {"ranks": via}
        result = FusedHit(item.key, item.score, own)
        out.append(ResultHit(memory_id, result, why, relevance(item.channels, position)))
    timings["fusion_total"] = (time.perf_counter() - started) * 1000.0
    explain = {
        "form": plan.form,
        "parts": [{"role": p.role, "weight": p.weight, "chars": len(p.text)} for p in plan.parts],
        "reasons": reasons,
        "feedback": added,
    }
    return SearchOutcome(out, timings, missing, weights, rankings, explain)


def _scope(engine: RetrievalEngine, spec: SearchSpec) -> tuple[KeyArray | None, frozenset[int]]:
    """The keys the channels may return (``None``: all), and the keys to drop from their
    rankings: expired ones and, in a whole-tenant scope, a few superseded ones (cheaper to
    over-fetch past than to turn "no filter" into a tenant-sized key list)."""
    catalog = engine.catalog
    allowed, hidden = catalog.viewed(
        catalog.allowed(
            user_id=spec.user_id,
            agent_id=spec.agent_id,
            session_id=spec.session_id,
            metadata=spec.metadata,
        ),
        spec.view,
    )
    allowed, expired = catalog.unexpired(allowed, time.time() if spec.now is None else spec.now)
    return allowed, expired | hidden


def _clean(hits: Sequence[Hit], dropped: frozenset[int], depth: int) -> list[Hit]:
    if dropped:
        return [h for h in hits if h.key not in dropped][:depth]
    return list(hits[:depth])


def _part_vectors(
    engine: RetrievalEngine,
    spec: SearchSpec,
    plan: QueryPlan,
    names: Sequence[str],
    timings: dict[str, float],
) -> list[FloatArray | None]:
    """Each part's query vector, when a channel that reads vectors runs: the weighted,
    normalised mean of its texts' embeddings (one embedder call for every text)."""
    wanted = any(engine.specs[n].needs_vector for n in names if n in engine.specs)
    if not wanted or (spec.embed is None and spec.vector is None):
        return [None] * len(plan.parts)
    if spec.embed is None:  # the caller embedded the whole text
        return [spec.vector] + [None] * (len(plan.parts) - 1)
    texts = list(dict.fromkeys(t for p in plan.parts for t, _ in p.embed))
    t0 = time.perf_counter()
    embedded = dict(zip(texts, spec.embed(texts), strict=True))
    timings["embed"] = (time.perf_counter() - t0) * 1000.0
    vectors: list[FloatArray | None] = []
    for part in plan.parts:
        mixed = np.sum([embedded[t] * w for t, w in part.embed], axis=0)
        vectors.append((mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32))
    return vectors


def _second_pass(
    engine: RetrievalEngine,
    spec: SearchSpec,
    plan: QueryPlan,
    vectors: Sequence[FloatArray | None],
    first: Sequence[FusedHit],
    rankings: Mapping[str, Sequence[Hit]],
    weights: Mapping[str, float],
    allowed: Any,
    depth: int,
    tuning: Tuning,
) -> tuple[dict[str, list[Hit]], dict[str, float], dict[str, Any]]:
    """Feedback rankings, their weights and what explain says they added."""
    extra: dict[str, list[Hit]] = {}
    extra_weights: dict[str, float] = {}
    added: dict[str, Any] = {}
    if not first or len(rankings) < 2:  # one channel asked alone answers as it is
        return extra, extra_weights, added
    top = first[:FEEDBACK_DOCS]
    entries = engine.entries([h.key for h in top]) if (tuning.rm3 or tuning.rocchio) else {}
    docs = [(entries[h.key], h.score) for h in top if h.key in entries]
    tasks: dict[str, tuple[str, Query]] = {}
    for name in rankings:
        kind = engine.specs[name].feedback if name in engine.specs else None
        if kind == "text" and tuning.rm3 and docs:
            idf = getattr(engine.channels[name], "idf", None)
            terms = rm3_terms([(e.content, s) for e, s in docs], plan.focus, idf=idf)
            if terms:
                added["terms"] = [t for t, _ in terms]
                text = f"{plan.focus} {' '.join(t for t, _ in terms)}"
                tasks[name + FEEDBACK] = (
                    name,
                    Query(text, spec.reference_time, depth, vectors[0], allowed),
                )
        elif kind == "vector" and tuning.rocchio and docs and vectors[0] is not None:
            moved = rocchio(vectors[0], [(v, s) for e, s in docs if (v := e.decoded()) is not None])
            added["rocchio_docs"] = len(docs)
            tasks[name + FEEDBACK] = (
                name,
                Query(plan.focus, spec.reference_time, depth, moved, allowed),
            )
    if tasks:
        results, ran, _ = engine.run_channels(tasks)
        added["timings"] = ran
        for key, hits in results.items():
            extra[key] = list(hits)
            extra_weights[key] = SHARE * weights.get(tasks[key][0], 0.0)
    if tuning.speaker and weights:
        said = _spoken_by_named(engine, spec, plan, [h.key for h in first])
        if said:
            extra[SPEAKER] = said
            extra_weights[SPEAKER] = SHARE * sum(weights.values()) / len(weights)
            added["speaker"] = len(said)
    if tuning.neighbours and weights:
        near = neighbour_hits([h.key for h in first], engine.neighbours)
        if allowed is not None and near:
            keep = np.isin(np.fromiter((h.key for h in near), dtype=np.int64), allowed)
            near = [h for h, kept in zip(near, keep.tolist(), strict=True) if kept]
        if near:
            extra[NEIGHBOURS] = near
            extra_weights[NEIGHBOURS] = NEIGHBOUR_SHARE * sum(weights.values()) / len(weights)
            added["neighbours"] = len(near)
    return extra, extra_weights, added


def _spoken_by_named(
    engine: RetrievalEngine, spec: SearchSpec, plan: QueryPlan, ranked: Sequence[int]
) -> list[Hit]:
    """Candidates whose ``speaker`` metadata is a person the query names, in ``ranked`` order."""
    names = {e.surface for e in extract_entities(plan.focus) if e.kind == "proper"}
    if not names or not ranked:
        return []
    candidates = np.fromiter(ranked, dtype=np.int64)
    spoken = np.zeros(candidates.shape[0], dtype=bool)
    for name in sorted(names):
        keys = engine.catalog.allowed(
            user_id=spec.user_id,
            agent_id=spec.agent_id,
            session_id=spec.session_id,
            metadata={**spec.metadata, "speaker": name},
        )
        if keys is not None:
            spoken |= np.isin(candidates, keys)
    return [
        Hit(int(key), 1.0 / (i + 1), {"speaker_named": True})
        for i, key in enumerate(candidates[spoken].tolist())
    ]
