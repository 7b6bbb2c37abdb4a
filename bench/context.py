"""``POST /v1/context`` latency, through the REST API of a running server.

    .venv/bin/python bench/context.py --memories 10000 --queries 200

Ingests N synthetic conversational memories (one fresh user scope, ten sessions), then asks
the same questions through ``/v1/search`` (limit 30, the context endpoint's default pool) and
``/v1/context`` at several budgets and formats, and prints client-measured p50/p95 for each,
plus the server's time to build the block once the search is done (``timings_ms.assemble``)
and the mean tokens and memories per block. The difference between the two is the cost of
building the block: duplicates, contradiction links, counting and rendering.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import api_key, client, median, percentile  # noqa: E402
from bench.ingest_search import PEOPLE, THINGS, WHEN, synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8420")
    parser.add_argument("--api-key")
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--user", help="query this existing scope (from an earlier run) instead of ingesting"
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    http = client(args.base_url, api_key(args.api_key))
    user = args.user or f"bench-{uuid.uuid4().hex[:8]}"
    texts = synthetic(args.memories, rng)
    start_time = datetime(2024, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for i in range(0, 0 if args.user else len(texts), args.batch):
        batch = [
            {
                "content": text,
                "user_id": user,
                "session_id": f"session-{(i + j) * 10 // len(texts)}",
                "occurred_at": (start_time + timedelta(minutes=7 * (i + j))).isoformat(),
                "metadata": {"speaker": text.split(":", 1)[0]},
            }
            for j, text in enumerate(texts[i : i + args.batch])
        ]
        http.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()
    if not args.user:
        print(
            f"ingested {len(texts)} memories in {time.perf_counter() - started:.1f} s (--user {user})"
        )

    questions = [
        f"What did {rng.choice(PEOPLE)} {rng.choice(['do with', 'say about', 'think of'])} "
        f"{rng.choice(THINGS)} {rng.choice(WHEN)}?"
        for _ in range(args.queries)
    ]
    reference = (start_time + timedelta(minutes=7 * len(texts))).isoformat()
    base = {"user_id": user, "reference_time": reference}
    for q in questions[:10]:  # warm-up
        http.post("/v1/context", json={"query": q, "max_tokens": 200, **base})

    runs: list[tuple[str, str, dict[str, object]]] = [
        ("search, limit 30", "/v1/search", {"limit": 30}),
        ("context, 200 tokens, text", "/v1/context", {"max_tokens": 200}),
        ("context, 1000 tokens, text", "/v1/context", {"max_tokens": 1000}),
        ("context, 4000 tokens, text", "/v1/context", {"max_tokens": 4000}),
        (
            "context, 1000 tokens, markdown",
            "/v1/context",
            {"max_tokens": 1000, "format": "markdown"},
        ),
        ("context, 1000 tokens, json", "/v1/context", {"max_tokens": 1000, "format": "json"}),
    ]
    print(f"{len(questions)} questions over {args.memories} memories (client round trip):")
    for label, path, extra in runs:
        latencies: list[float] = []
        assemble: list[float] = []
        tokens: list[int] = []
        used: list[int] = []
        for q in questions:
            t0 = time.perf_counter()
            response = http.post(path, json={"query": q, **base, **extra})
            latencies.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            body = response.json()
            if path == "/v1/context":
                assemble.append(body["timings_ms"]["assemble"])
                tokens.append(body["tokens"])
                used.append(len(body["memory_ids"]))
        shape = (
            f"; block built in p50 {median(assemble):.1f} / p95 {percentile(assemble, 95):.1f} ms"
            f"; {statistics.mean(tokens):.0f} tokens, {statistics.mean(used):.1f} memories"
            if tokens
            else ""
        )
        print(
            f"  {label:<32} p50 {median(latencies):6.1f} ms  p95 {percentile(latencies, 95):6.1f} ms"
            + shape
        )


if __name__ == "__main__":
    main()
