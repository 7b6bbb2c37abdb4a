"""LoCoMo in-process: the server's engine and query path, for tuning and ablations.

    .venv/bin/python bench/tune_fusion.py ../shared/bench/locomo/locomo-dev.json \
        --conversations 0-3 [--mode question|long|both] [--grid]

Embeds every turn and query once with MiniLM (cached in ``--cache``), builds one engine per
conversation exactly as the server would (batches of 100, one user scope, the registry's
channels and default weights), then searches every question as the server does (the
engine's query plan, adaptive fusion and feedback pass) and prints turn-level Recall@10 per
category, fused and per channel. ``--conversations`` selects the dev conversations by
index: tune on 0-3, report on 4-5 (the held-out split, see docs/benchmarks.md).
``--grid`` grid-searches k and the weights on the selected conversations (an upper bound on
those conversations, never a held-out figure). ``--ablate NAME`` turns one step of the
search off (see ``channels.recall.Tuning``). The REST benchmark (bench/locomo.py) is the
number of record.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.locomo import (  # noqa: E402
    Conversation,
    load,
    print_table,
    query_text,
    score,
    select,
)
from channels.embedder import build_embedder  # noqa: E402
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec  # noqa: E402
from channels.registry import build_channels, resolve_weights  # noqa: E402
from service.settings import SearchSettings  # noqa: E402

Run = tuple[int, list[str], set[str]]


class CachedEmbedder:
    """MiniLM with a per-text cache on disk (re-runs embed nothing)."""

    def __init__(self, cache: Path) -> None:
        self._inner = build_embedder("minilm", model_path=None, threads=None)
        self.dimension = self._inner.dimension
        self._path = cache
        self._known: dict[str, np.ndarray] = {}
        if cache.exists():
            data = np.load(cache)
            self._known = {k: data[k] for k in data.files}
        self._dirty = False

    @staticmethod
    def _id(text: str) -> str:
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def embed(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        ids = [self._id(t) for t in texts]
        todo = sorted(
            {i: t for i, t in zip(ids, texts, strict=True) if i not in self._known}.items()
        )
        for start in range(0, len(todo), 256):
            chunk = todo[start : start + 256]
            vectors = self._inner.embed([t for _, t in chunk])
            for (i, _), v in zip(chunk, vectors, strict=True):
                self._known[i] = v
            self._dirty = True
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._known[i] for i in ids]).astype(np.float32)

    def save(self) -> None:
        if self._dirty:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self._path, **self._known)
            self._dirty = False


def build(
    conversations: list[Conversation], pool: ThreadPoolExecutor, embedder: CachedEmbedder
) -> list[tuple[RetrievalEngine, dict[uuid.UUID, str]]]:
    built = []
    for conv in conversations:
        vectors = embedder.embed([t["content"] for t in conv.turns])
        engine = RetrievalEngine(
            build_channels(dimension=embedder.dimension),
            pool=pool,
            weights=resolve_weights(),
            rrf_k=SearchSettings().rrf_k,
            budget_ms=60_000,
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
        built.append((engine, dia))
    return built


def evaluate(
    conversations: list[Conversation],
    built: list[Any],
    embedder: CachedEmbedder,
    *,
    mode: str,
    weights: dict[str, float] | None = None,
    k: float | None = None,
    tuning: Any = None,
) -> tuple[list[Run], dict[str, list[Run]], list[tuple[float, bool]]]:
    """Fused and per-channel runs, plus (relevance, is-evidence) of every fused top-10 hit."""
    fused: list[Run] = []
    alone: dict[str, list[Run]] = {}
    calibration: list[tuple[float, bool]] = []
    for conv, (engine, dia) in zip(conversations, built, strict=True):
        if weights is not None:
            engine._weights = dict(weights)
        if k is not None:
            engine._rrf_k = k
        for q in conv.questions:
            text = query_text(conv, q, mode)
            out = engine.search(
                SearchSpec(
                    text=text,
                    reference_time=conv.last_time,
                    limit=50,
                    user_id="u",
                    embed=embedder.embed,
                    tuning=tuning,
                )
            )
            ranked = [dia[h.memory_id] for h in out.hits]
            fused.append((q["category"], ranked, q["evidence"]))
            for hit, dia_id in zip(out.hits[:10], ranked, strict=False):
                calibration.append((hit.relevance, dia_id in q["evidence"]))
            for name, hits in out.rankings.items():
                ranked_alone = [
                    dia[mid]
                    for mid in (engine.catalog.memory_id(h.key) for h in hits)
                    if mid is not None
                ]
                alone.setdefault(name, []).append((q["category"], ranked_alone, q["evidence"]))
    return fused, alone, calibration


def report(title: str, fused: list[Run], alone: dict[str, list[Run]]) -> None:
    print_table(f"{title}: fused", score(fused))
    table = score(fused)
    singles = {n: score(r) for n, r in alone.items()}
    header = f"{'R@10':<16}{'fused':>9}" + "".join(f"{n:>10}" for n in sorted(singles))
    print(header)
    for c in ["1", "2", "3", "4", "5", "1-4"]:
        if c in table:
            print(
                f"{c:<16}{table[c]['R@10']:>9.3f}"
                + "".join(f"{singles[n][c]['R@10']:>10.3f}" for n in sorted(singles))
            )
    margin = min(
        table[c]["R@10"] - max(s[c]["R@10"] for s in singles.values()) for c in "1234" if c in table
    )
    print(f"worst margin of fused over the best single channel (cat 1-4): {margin:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--conversations", default="all", help="e.g. 0-3, 4-5, 0,2 or all")
    parser.add_argument("--mode", choices=("question", "long", "typo", "both"), default="question")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--ablate", action="append", default=[], help="a Tuning flag to turn off")
    parser.add_argument("--enable", action="append", default=[], help="a Tuning flag to turn on")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mnemonix-locomo-vectors.npz"))
    args = parser.parse_args()
    from channels.recall import Tuning

    tuning = replace(
        Tuning(), **dict.fromkeys(args.ablate, False), **dict.fromkeys(args.enable, True)
    )
    conversations = select(load(args.path), args.conversations)
    pool = ThreadPoolExecutor(max_workers=4)
    embedder = CachedEmbedder(args.cache)
    built = build(conversations, pool, embedder)
    modes = ("question", "long") if args.mode == "both" else (args.mode,)
    for mode in modes:
        fused, alone, _ = evaluate(conversations, built, embedder, mode=mode, tuning=tuning)
        embedder.save()
        report(f"{mode} queries, conversations {args.conversations}", fused, alone)
    if args.grid:
        results = []
        grid = itertools.product((8, 20, 60), (0.6, 0.8, 1.0), (0.2, 0.3, 0.5), (0.3, 0.6))
        for k, ws, wg, wt in grid:
            weights = {"keyword": 1.0, "semantic": ws, "graph": wg, "temporal": wt}
            fused, _, _ = evaluate(
                conversations, built, embedder, mode=modes[0], weights=weights, k=k, tuning=tuning
            )
            r10 = score(fused)["1-4"]["R@10"]
            results.append((r10, k, weights))
            print(f"R@10 {r10:.4f}  k={k} {weights}", flush=True)
        best = max(results, key=lambda r: r[0])
        print(f"\nbest: R@10 {best[0]:.4f} k={best[1]} weights={best[2]}")
    pool.shutdown()


if __name__ == "__main__":
    main()
