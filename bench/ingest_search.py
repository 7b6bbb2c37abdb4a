"""Ingest and search throughput, through the REST API of a running server.

    .venv/bin/python bench/ingest_search.py --memories 10000 --batch 100 --queries 300

Ingests N synthetic conversational memories (one fresh user scope) in batches, then runs
search queries (paraphrase-style questions about the stored facts) and prints the ingest
rate and search latency p50/p95 as measured by the client (HTTP round trip included) and
as reported by the server (``timings_ms.total``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import api_key, client, median, percentile  # noqa: E402

PEOPLE = [
    "Alice",
    "Bob",
    "Carmen",
    "Deepak",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Nikolai",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
]
VERBS = [
    "visited",
    "bought",
    "started learning",
    "cooked",
    "fixed",
    "painted",
    "wrote about",
    "signed up for",
    "lost",
    "found",
    "recommended",
    "complained about",
    "booked",
    "sold",
]
THINGS = [
    "a vintage bicycle",
    "the pottery class",
    "a trip to Lisbon",
    "sourdough bread",
    "the kitchen sink",
    "a sunrise over the lake",
    "a new laptop",
    "the jazz festival",
    "a marathon",
    "a rescue puppy",
    "the guitar",
    "a Python course",
    "the garden shed",
    "a concert ticket",
    "an electric car",
    "the book club",
    "a hiking trail",
    "a violin",
]
WHEN = ["yesterday", "last week", "this morning", "two days ago", "on Saturday", "last month"]
WHY = [
    "because it was on sale",
    "with their sister",
    "for the first time",
    "after work",
    "to relax",
    "as a birthday present",
    "despite the rain",
    "with colleagues",
]


def synthetic(n: int, rng: random.Random) -> list[str]:
    return [
        f"{rng.choice(PEOPLE)}: I {rng.choice(VERBS)} {rng.choice(THINGS)} {rng.choice(WHEN)} "
        f"{rng.choice(WHY)} (note {i})"
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8420")
    parser.add_argument("--api-key")
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    http = client(args.base_url, api_key(args.api_key))
    user = f"bench-{uuid.uuid4().hex[:8]}"
    texts = synthetic(args.memories, rng)
    start_time = datetime(2024, 1, 1, tzinfo=UTC)

    started = time.perf_counter()
    for i in range(0, len(texts), args.batch):
        batch = [
            {
                "content": text,
                "user_id": user,
                "occurred_at": (start_time + timedelta(minutes=7 * (i + j))).isoformat(),
                "metadata": {"n": i + j},
            }
            for j, text in enumerate(texts[i : i + args.batch])
        ]
        http.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()
    elapsed = time.perf_counter() - started
    print(
        f"ingest: {len(texts)} memories in {elapsed:.1f} s = {len(texts) / elapsed:.0f} memories/s "
        f"(batches of {args.batch})"
    )

    questions = [
        f"What did {rng.choice(PEOPLE)} {rng.choice(['do with', 'say about', 'think of'])} "
        f"{rng.choice(THINGS)} {rng.choice(WHEN)}?"
        for _ in range(args.queries)
    ]
    reference = (start_time + timedelta(minutes=7 * len(texts))).isoformat()
    for q in questions[:10]:  # warm-up
        http.post("/v1/search", json={"query": q, "user_id": user, "reference_time": reference})
    for label, channels in (("all four channels", None), ("semantic channel only", ["semantic"])):
        client_ms, server_ms = [], []
        for q in questions:
            body = {
                "query": q,
                "user_id": user,
                "limit": 10,
                "reference_time": reference,
                "channels": channels,
            }
            t0 = time.perf_counter()
            response = http.post(
                "/v1/search", json={k: v for k, v in body.items() if v is not None}
            )
            client_ms.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            server_ms.append(response.json()["timings_ms"]["total"])
        print(f"search over {args.memories} memories, {len(questions)} queries, {label}:")
        print(
            f"  client round trip: p50 {median(client_ms):.1f} ms, p95 {percentile(client_ms, 95):.1f} ms"
        )
        print(
            f"  server total:      p50 {median(server_ms):.1f} ms, p95 {percentile(server_ms, 95):.1f} ms"
        )


if __name__ == "__main__":
    main()
