"""What the search pipeline's steps cost, in-process at 10,000 memories (one scope).

    .venv/bin/python bench/pipeline_cost.py

The ``bench/ingest_search.py`` corpus and questions (hash embedder: the embedding cost is
the same in every mode), one engine; every question is searched once per mode, the modes
interleaved so a loaded machine slows them alike. Prints p50 / p95 per mode: before (no
query plan, no second pass), the defaults, the defaults plus RM3.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest_search import PEOPLE, THINGS, WHEN, synthetic  # noqa: E402
from channels.embedder_hash import HashEmbedder  # noqa: E402
from channels.engine import IndexEntry, RetrievalEngine, SearchSpec  # noqa: E402
from channels.recall import Tuning  # noqa: E402
from channels.registry import build_channels, resolve_weights  # noqa: E402


def main() -> None:
    emb = HashEmbedder(dimension=384)
    rng = random.Random(7)
    texts = synthetic(10000, rng)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    vecs = emb.embed(texts)
    e = RetrievalEngine(
        build_channels(dimension=384),
        pool=ThreadPoolExecutor(8),
        weights=resolve_weights(),
        rrf_k=8,
    )
    entries = [
        IndexEntry(
            id=uuid.uuid4(),
            content=t,
            occurred_at=start + timedelta(minutes=7 * i),
            user_id="u",
            metadata={"n": i},
            vector=vecs[i],
        )
        for i, t in enumerate(texts)
    ]
    for i in range(0, 10000, 500):
        e.upsert(entries[i : i + 500])
    qs = [
        f"What did {rng.choice(PEOPLE)} {rng.choice(['do with', 'say about', 'think of'])} {rng.choice(THINGS)} {rng.choice(WHEN)}?"
        for _ in range(300)
    ]
    ref = start + timedelta(minutes=7 * 10000)
    modes = {
        "before (no plan, no second pass)": Tuning(
            split_dialogue=False, rm3=False, speaker=False, neighbours=False
        ),
        "after (defaults)": Tuning(),
        "after + RM3": Tuning(rm3=True),
    }
    ts = {k: [] for k in modes}
    for q in qs[:20]:
        for t in modes.values():
            e.search(
                SearchSpec(
                    text=q, reference_time=ref, limit=10, user_id="u", embed=emb.embed, tuning=t
                )
            )
    for q in qs:
        for k, t in modes.items():
            t0 = time.perf_counter()
            e.search(
                SearchSpec(
                    text=q, reference_time=ref, limit=10, user_id="u", embed=emb.embed, tuning=t
                )
            )
            ts[k].append((time.perf_counter() - t0) * 1000)
    for k, v in ts.items():
        v.sort()
        print(f"{k}: p50 {v[len(v) // 2]:.1f} ms, p95 {v[int(len(v) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
