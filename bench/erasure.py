"""What erasure costs (docs/reliability.md, "Erasure").

    .venv/bin/python bench/erasure.py sqlite --seconds 30
    .venv/bin/python bench/erasure.py postgres --rows 100000

``sqlite``: a real ``mnemonix serve`` (hash embedder, so the database, not the model, is
the bottleneck: the worst case for the flush) under 4 writer threads for ``--seconds``,
one request in four a delete; for each ``--flush-seconds`` (default 1, 5 and 3,600 s: no
flush in the run), alternated ``--rounds`` times. Prints writes/s, deletes/s and p50/p95.

``postgres``: ``--rows`` memories (with their history events) stored straight through the
repository in a fresh database; 1% deleted; then ``VACUUM FULL`` of the text tables
(``storage.repositories.erasure.flush_erased``) while one thread reads memories by id and
another inserts, each timing its longest wait (the exclusive lock). Prints the flush time,
the longest stalls and the table sizes before and after.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, scratch_database  # noqa: E402
from bench.scale import server  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import build_engine, build_sessionmaker, unit_of_work  # noqa: E402
from storage.models import Memory  # noqa: E402
from storage.records import content_hash  # noqa: E402
from storage.repositories import MemoryRepository, TenantRepository  # noqa: E402
from storage.repositories.erasure import ERASED_TABLES, flush_erased  # noqa: E402
from storage.types import utcnow  # noqa: E402

ADMIN = "bench-admin-key-0123456789abcdef"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"
WORDS = [
    "river",
    "stone",
    "maple",
    "lantern",
    "copper",
    "orchard",
    "violet",
    "harbor",
    "meadow",
    "cedar",
]


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))


def sqlite_load(seconds: float, flush_seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "MNEMONIX_DATABASE_URL": f"sqlite:///{tmp}/mnemonix.db",
            "MNEMONIX_DATA_DIR": f"{tmp}/data",
            "MNEMONIX_EMBEDDER": "hash",
            "MNEMONIX_ADMIN_KEY": ADMIN,
            "MNEMONIX_BOOTSTRAP_TENANT": "",
            "MNEMONIX_LIFECYCLE__ENABLED": "false",
            "MNEMONIX_ERASURE__FLUSH_SECONDS": str(flush_seconds),
        }
        with server(env, Path(tmp) / "server.log") as (base, _process, _ready):
            admin = {"Authorization": f"Bearer {ADMIN}"}
            httpx.post(f"{base}/v1/admin/tenants", json={"name": "bench"}, headers=admin)
            key = httpx.post(
                f"{base}/v1/admin/tenants/bench/keys", json={"name": "b"}, headers=admin
            ).json()["key"]
            timings: dict[str, list[float]] = {"write": [], "delete": []}
            lock = threading.Lock()
            deadline = time.monotonic() + seconds

            def worker(seed: int) -> None:
                rng = random.Random(seed)
                mine: list[str] = []
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
                ) as http:
                    while time.monotonic() < deadline:
                        started = time.perf_counter()
                        if mine and rng.random() < 0.25:
                            r = http.delete(f"/v1/memories/{mine.pop(rng.randrange(len(mine)))}")
                            kind = "delete"
                        else:
                            r = http.post("/v1/memories", json={"content": _sentence(rng)})
                            mine.append(r.json()["id"])
                            kind = "write"
                        r.raise_for_status()
                        with lock:
                            timings[kind].append((time.perf_counter() - started) * 1000)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    out: dict[str, float] = {}
    for kind, values in timings.items():
        out[f"{kind}s/s"] = len(values) / seconds
        out[f"{kind} p50 ms"] = percentile(values, 50)
        out[f"{kind} p95 ms"] = percentile(values, 95)
    return out


def postgres_compaction(rows: int) -> None:
    rng = random.Random(7)
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database("postgres", Path(tmp), PG_BASE) as url,
    ):
        migrate.upgrade(url)
        engine = build_engine(url)
        sessions = build_sessionmaker(engine)
        with unit_of_work(sessions) as session:
            tenant = TenantRepository(session).add("bench")
        ids: list[uuid.UUID] = []
        started = time.perf_counter()
        for start in range(0, rows, 5000):
            now = utcnow()
            batch = []
            for _ in range(min(5000, rows - start)):
                content = _sentence(rng)
                batch.append(
                    Memory(
                        id=uuid.uuid4(), tenant_id=tenant.id, user_id="u", agent_id=None,
                        session_id=None, content=content, content_hash=content_hash(content),
                        meta={"n": start}, occurred_at=now, created_at=now, updated_at=now,
                        importance=0.5, pinned=False, access_count=0, last_accessed_at=None,
                        strength=1.0, stability=1.0, tier="hot", embedding=rng.randbytes(384),
                        embedding_bits=8, embedding_scale=0.01, embedding_model="bench",
                        embedding_dim=384, version=1, superseded_by=None,
                    )
                )  # fmt: skip
            with unit_of_work(sessions) as session:
                MemoryRepository(session).insert_created(batch)
            ids += [m.id for m in batch]
        print(f"stored {rows} memories in {time.perf_counter() - started:.1f} s")
        doomed = rng.sample(ids, rows // 100)
        with unit_of_work(sessions) as session:
            repo = MemoryRepository(session)
            for memory_id in doomed:
                repo.scrub_history(tenant_id=tenant.id, memory_id=memory_id)
            session.execute(Memory.__table__.delete().where(Memory.id.in_(doomed)))
        print(f"deleted {len(doomed)} memories, their history scrubbed")

        def sizes() -> str:
            with engine.connect() as conn:
                query = "SELECT pg_total_relation_size('{}')"
                parts = [
                    f"{t} {conn.exec_driver_sql(query.format(t)).scalar_one() / 2**20:.1f} MB"
                    for t in ERASED_TABLES
                ]
            return ", ".join(parts)

        print("sizes before:", sizes())
        stalls = {"read": 0.0, "insert": 0.0}
        done = threading.Event()
        survivors = [i for i in ids[:5000] if i not in set(doomed)]

        def reader() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                with sessions() as session:
                    session.get(Memory, rng.choice(survivors))
                stalls["read"] = max(stalls["read"], time.perf_counter() - t0)
                time.sleep(0.01)

        def inserter() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                now = utcnow()
                row = Memory(
                    id=uuid.uuid4(), tenant_id=tenant.id, user_id="u", content="late write",
                    content_hash=content_hash("late write"), meta={}, occurred_at=now,
                    created_at=now, updated_at=now, importance=0.5, pinned=False,
                    access_count=0, strength=1.0, stability=1.0, tier="hot", embedding=None,
                    embedding_bits=8, embedding_scale=1.0, embedding_model="", embedding_dim=0,
                    version=1,
                )  # fmt: skip
                with unit_of_work(sessions) as session:
                    MemoryRepository(session).insert_created([row])
                stalls["insert"] = max(stalls["insert"], time.perf_counter() - t0)
                time.sleep(0.01)

        threads = [threading.Thread(target=reader), threading.Thread(target=inserter)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        result = flush_erased(engine, wait_ms=0)
        time.sleep(0.5)
        done.set()
        for t in threads:
            t.join()
        print(f"VACUUM FULL {', '.join(result.tables)}: {result.duration_ms / 1000:.2f} s")
        print(
            f"longest wait meanwhile: read by id {stalls['read'] * 1000:.0f} ms, "
            f"insert {stalls['insert'] * 1000:.0f} ms"
        )
        print("sizes after:", sizes())
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("backend", choices=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--flush-seconds", type=float, nargs="+", default=[1.0, 5.0, 3600.0])
    args = parser.parse_args()
    if args.backend == "postgres":
        postgres_compaction(args.rows)
        return
    for round_ in range(args.rounds):  # alternated, so a busy spell hits every setting
        for flush in args.flush_seconds:
            figures = sqlite_load(args.seconds, flush)
            label = f"flush_seconds={flush:g}" + (" (no flush)" if flush >= 3600 else "")
            print(round_, label, " ".join(f"{k}={v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
