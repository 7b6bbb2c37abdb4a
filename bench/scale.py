"""Retrieval engine latency at scale, in-process (no HTTP, no query embedding).

    .venv/bin/python bench/scale.py --sizes 10000 100000 --queries 200

Builds one tenant engine with N synthetic conversational memories in ONE scope (random
unit vectors stand in for embeddings: the semantic channel's cost does not depend on their
values), then times searches with every channel (fused) and each channel alone. Prints
build time, p50/p95 per channel and for the fused search, and index bytes per channel.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, percentile  # noqa: E402
from bench.ingest_search import PEOPLE, THINGS, WHEN, synthetic  # noqa: E402
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec  # noqa: E402
from channels.registry import CHANNEL_NAMES, build_channels, weight_policy  # noqa: E402
from service.settings import SearchSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(5)
    search = SearchSettings()
    pool = ThreadPoolExecutor(max_workers=8)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for size in args.sizes:
        texts = synthetic(size, rng)
        vectors = np.random.default_rng(size).standard_normal((size, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        entries = [
            IndexEntry(
                id=uuid.UUID(int=i + 1),
                content=text,
                occurred_at=start + timedelta(minutes=13 * i),
                user_id="bench",
                metadata={"speaker": text.split(":")[0]},
                vector=vectors[i],
            )
            for i, text in enumerate(texts)
        ]
        engine = RetrievalEngine(
            build_channels(dimension=384),
            pool=pool,
            weights=search.weights,
            rrf_k=search.rrf_k,
            budget_ms=10_000,
            weight_policy=weight_policy,
        )
        t0 = time.perf_counter()
        engine.rebuild(entries)
        build = time.perf_counter() - t0
        reference = start + timedelta(minutes=13 * size)
        queries = [
            f"What did {rng.choice(PEOPLE)} do with {rng.choice(THINGS)} {rng.choice(WHEN)}?"
            for _ in range(args.queries)
        ]
        qvecs = np.random.default_rng(1).standard_normal((len(queries), 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        print(f"\n{size} memories in one scope: rebuild {build:.1f} s")
        for label, channels in [("fused (all 4)", None)] + [
            (f"{n} alone", [n]) for n in CHANNEL_NAMES
        ]:
            times = []
            for q, v in zip(queries, qvecs, strict=True):
                spec = SearchSpec(
                    text=q,
                    reference_time=reference,
                    limit=10,
                    vector=v,
                    user_id="bench",
                    channels=channels,
                    depth=search.depth,
                )
                t0 = time.perf_counter()
                engine.search(spec)
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"  {label:<16} p50 {median(times):6.1f} ms   p95 {percentile(times, 95):6.1f} ms"
            )
        for name, stats in engine.stats().items():
            print(
                f"  index {name:<9} {stats.index_bytes / size:8.0f} bytes/memory  {dict(stats.extra)}"
            )
    pool.shutdown()


if __name__ == "__main__":
    main()
