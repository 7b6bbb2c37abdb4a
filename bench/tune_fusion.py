"""Tune the fusion defaults on LoCoMo dev, in-process (the same engine the server runs).

    .venv/bin/python bench/tune_fusion.py ../shared/bench/locomo/locomo-dev.json

Embeds every turn and question once with MiniLM, builds one engine per conversation
exactly as the server would (batches of 100, one user scope), then grid-searches the RRF
constant k, the per-channel weights and the adaptive policy, printing turn-level Recall@10
over categories 1-4 and the worst per-category margin of the fused search over the best
single channel. It tunes on the data it reports: treat the figure as an upper bound; the
REST benchmark (bench/locomo.py) is the number of record.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.locomo import Conversation, load, score  # noqa: E402
from channels.embedder import build_embedder  # noqa: E402
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec  # noqa: E402
from channels.registry import build_channels, weight_policy  # noqa: E402

Run = tuple[int, list[str], set[str]]


def build(
    conversations: list[Conversation], pool: ThreadPoolExecutor
) -> list[tuple[RetrievalEngine, dict[uuid.UUID, str], Any]]:
    embedder = build_embedder("minilm", model_path=None, threads=None)
    built = []
    for conv in conversations:
        vectors = embedder.embed([t["content"] for t in conv.turns])
        questions = embedder.embed([q["question"] for q in conv.questions])
        engine = RetrievalEngine(
            build_channels(dimension=embedder.dimension), pool=pool, weights={}, budget_ms=60_000
        )
        entries, dia = [], {}
        for turn, vector in zip(conv.turns, vectors, strict=True):
            memory_id = uuid.uuid4()
            dia[memory_id] = turn["metadata"]["dia_id"]
            entries.append(
                IndexEntry(
                    id=memory_id,
                    content=turn["content"],
                    occurred_at=datetime.fromisoformat(turn["occurred_at"]),
                    user_id="u",
                    metadata=turn["metadata"],
                    vector=vector,
                )
            )
        for i in range(0, len(entries), 100):
            engine.upsert(entries[i : i + 100])
        built.append((engine, dia, questions))
    return built


def evaluate(
    conversations: list[Conversation],
    built: list[Any],
    weights: dict[str, float],
    k: float,
    adaptive: bool,
) -> tuple[list[Run], dict[str, list[Run]]]:
    fused: list[Run] = []
    alone: dict[str, list[Run]] = {}
    for conv, (engine, dia, questions) in zip(conversations, built, strict=True):
        engine._weights, engine._rrf_k = dict(weights), k
        engine._policy = weight_policy if adaptive else None
        for q, vector in zip(conv.questions, questions, strict=True):
            out = engine.search(
                SearchSpec(
                    text=q["question"],
                    reference_time=conv.last_time,
                    limit=50,
                    vector=vector,
                    user_id="u",
                )
            )
            fused.append((q["category"], [dia[h.memory_id] for h in out.hits], q["evidence"]))
            for name, hits in out.rankings.items():
                ranked = [
                    dia[mid]
                    for mid in (engine.catalog.memory_id(h.key) for h in hits)
                    if mid is not None
                ]
                alone.setdefault(name, []).append((q["category"], ranked, q["evidence"]))
    return fused, alone


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    conversations = load(args.path)
    pool = ThreadPoolExecutor(max_workers=4)
    built = build(conversations, pool)
    results = []
    grid = itertools.product(
        (8, 12, 20, 60), (0.6, 0.8, 1.0), (0.2, 0.3, 0.5), (0.3, 0.6, 0.9), (False, True)
    )
    for k, ws, wg, wt, adaptive in grid:
        weights = {"keyword": 1.0, "semantic": ws, "graph": wg, "temporal": wt}
        fused, alone = evaluate(conversations, built, weights, k, adaptive)
        table = score(fused)
        singles = {n: score(r) for n, r in alone.items()}
        margin = min(table[c]["R@10"] - max(s[c]["R@10"] for s in singles.values()) for c in "1234")
        results.append((table["1-4"]["R@10"], margin, k, weights, adaptive))
        print(
            f"R@10 {table['1-4']['R@10']:.4f}  margin {margin:+.3f}  k={k} {weights} adaptive={adaptive}",
            flush=True,
        )
    best = max(results, key=lambda r: (r[0], r[1]))
    print(
        f"\nbest: R@10 {best[0]:.4f} (margin over best single channel {best[1]:+.3f}) k={best[2]} weights={best[3]} adaptive={best[4]}"
    )
    pool.shutdown()


if __name__ == "__main__":
    main()
