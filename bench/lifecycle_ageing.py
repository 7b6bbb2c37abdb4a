"""A year of the lifecycle over the LoCoMo dev data: bytes per memory and recall, before and after.

    .venv/bin/python bench/lifecycle_ageing.py ../shared/bench/locomo/locomo-dev.json

In-process (the app over an ASGI client, the real MiniLM embedder, a fresh SQLite file):
every turn is stored as in ``bench/locomo.py`` and turn-level Recall@10 is measured; then a
simulated clock runs a year of weekly lifecycle runs (the same job ``mnemonix serve``
schedules). A fixed random share of memories (``--reaccess``, default 10%) is retrieved again
now and then during the year, the rest is never touched. At the end it prints, per tier, the
memories and the semantic index bytes per memory, the overall reduction, and Recall@10 again.
The measurement searches of the "before" pass are not counted as retrievals.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from bench.common import median, percentile  # noqa: E402
from bench.locomo import Conversation, ingest, load, score  # noqa: E402
from channels.semantic import INDEX_BITS  # noqa: E402
from service.app import create_app  # noqa: E402
from service.lifecycle import run_for_app  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.state import AppState  # noqa: E402
from storage.models import Memory  # noqa: E402
from storage.quantization import code_bytes  # noqa: E402
from storage.repositories import LinkRepository, MemoryRepository, TenantRepository  # noqa: E402
from storage.types import utcnow  # noqa: E402

ADMIN = "bench-admin-key-0123456789"


def recall(
    http: TestClient,
    convs: list[Conversation],
    run_id: str,
    dia: dict[str, list[str]],
    latencies: list[float],
) -> dict[str, dict[str, float]]:
    runs = []
    for conv in convs:
        for q in conv.questions:
            body: dict[str, Any] = {
                "query": q["question"],
                "user_id": f"locomo-{conv.sample_id}-{run_id}",
                "limit": 50,
                "reference_time": conv.last_time.isoformat(),
            }
            t0 = time.perf_counter()
            results = http.post("/v1/search", json=body).json()["results"]
            latencies.append((time.perf_counter() - t0) * 1000)
            ranked = [d for r in results for d in dia.get(r["memory"]["id"], ["?"])]
            runs.append((q["category"], ranked, q["evidence"]))
    return score(runs)


def tiers(state: AppState) -> dict[str, tuple[int, int, int]]:
    """tier -> (indexed memories, search-index code bytes, SQL embedding bytes)."""
    with state.sessions() as session:
        rows = session.execute(
            select(
                Memory.tier,
                func.count(),
                func.coalesce(func.sum(func.length(Memory.embedding)), 0),
                func.max(Memory.embedding_dim),
            )
            .where(Memory.superseded_by.is_(None))
            .group_by(Memory.tier)
        ).all()
    return {
        tier: (int(n), int(n) * code_bytes(INDEX_BITS[tier], int(dim)), int(b))
        for tier, n, b, dim in rows
    }


def print_tiers(title: str, table: dict[str, tuple[int, int, int]], faiss_bytes: int) -> float:
    total_n = sum(n for n, _, _ in table.values())
    total_i = sum(i for _, i, _ in table.values())
    total_s = sum(s for _, _, s in table.values())
    print(f"\n{title}: {total_n} memories in the index")
    print(f"{'tier':<10}{'memories':>10}{'index B/memory':>16}{'SQL B/memory':>14}")
    for tier in ("hot", "warm", "cold", "archived"):
        if tier in table:
            n, i, s = table[tier]
            print(f"{tier:<10}{n:>10}{i / n:>16.1f}{s / n:>14.1f}")
    print(
        f"{'all':<10}{total_n:>10}{total_i / total_n:>16.1f}{total_s / total_n:>14.1f}"
        f"   (FAISS, with its 8-byte ids: {faiss_bytes / total_n:.1f} B/memory)"
    )
    return total_i / total_n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument(
        "--reaccess", type=float, default=0.10, help="share of memories retrieved again"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    convs = load(args.path)
    workdir = Path(tempfile.mkdtemp(prefix="mnemonix-ageing-"))
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'mnemonix.db'}",
        data_dir=workdir,
        admin_key=ADMIN,
        bootstrap_tenant="bench",
        lifecycle={"enabled": False},
    )
    with TestClient(create_app(settings)) as http:
        http.headers["Authorization"] = f"Bearer {(workdir / 'bench.key').read_text().strip()}"
        state: AppState = http.app.state.mnemonix  # type: ignore[attr-defined]
        run_id = "age"
        dia_of = ingest(http, convs, run_id)
        dia = {k: [v] for k, v in dia_of.items()}
        lat_before: list[float] = []
        before = recall(http, convs, run_id, dia, lat_before)["1-4"]
        stats = http.get("/v1/admin/stats", headers={"Authorization": f"Bearer {ADMIN}"}).json()
        bytes_before = print_tiers("before", tiers(state), stats["indexes"]["semantic"]["bytes"])
        state.access.flush()  # then forget them: the measurement searches are not retrievals
        time.sleep(3)  # and let the background flush (every 2 s) finish
        state.access.flush()
        with state.sessions() as session:
            session.execute(update(Memory).values(access_count=0, last_accessed_at=None))
            session.commit()
            tenant = TenantRepository(session).by_name("bench")
            assert tenant is not None
            tenant_id = tenant.id

        ids = [uuid.UUID(m) for m in dia_of]
        popular = rng.sample(ids, int(len(ids) * args.reaccess))
        clock = utcnow()
        moves: Counter[str] = Counter()
        merged = 0
        started = time.perf_counter()
        for _ in range(args.weeks):
            clock += timedelta(days=7)
            touched = {m: 1 for m in popular if rng.random() < 0.15}  # ~8 retrievals a year each
            with state.sessions() as session:
                MemoryRepository(session).record_access(
                    tenant_id=tenant_id, counts=touched, at=clock
                )
                session.commit()
            run = run_for_app(state, trigger="bench", now=clock)  # indexes follow at once
            moves.update(run.report.get("moves", {}))
            merged += int(run.report.get("merged", 0))
        elapsed = time.perf_counter() - started
        print(
            f"\n{args.weeks} weekly runs in {elapsed:.1f} s; tier moves {dict(moves)}; merged {merged}"
        )

        with state.sessions() as session:  # a consolidated memory answers for its sources' turns
            links = LinkRepository(session)
            for row in session.scalars(select(Memory).where(Memory.superseded_by.is_(None))):
                if "consolidated_from" in (row.meta or {}):
                    sources = links.sources_of(tenant_id=tenant_id, memory_id=row.id)
                    dia[str(row.id)] = [d for s in sources for d in dia.get(str(s), [])]
        stats = http.get("/v1/admin/stats", headers={"Authorization": f"Bearer {ADMIN}"}).json()
        bytes_after = print_tiers(
            "after a year", tiers(state), stats["indexes"]["semantic"]["bytes"]
        )
        lat_after: list[float] = []
        after = recall(http, convs, run_id, dia, lat_after)["1-4"]
    print(
        f"\nsearch-index bytes per memory: {bytes_before:.1f} -> {bytes_after:.1f} ({bytes_before / bytes_after:.2f}x smaller)"
    )
    print(
        f"Recall@10 (categories 1-4): {before['R@10']:.3f} -> {after['R@10']:.3f} ({(after['R@10'] - before['R@10']) * 100:+.1f} points)"
    )
    print(f"NDCG@10: {before['NDCG@10']:.3f} -> {after['NDCG@10']:.3f}")
    print(
        f"search latency (in-process, 4 channels): p50 {median(lat_before):.1f} -> {median(lat_after):.1f} ms, "
        f"p95 {percentile(lat_before, 95):.1f} -> {percentile(lat_after, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
