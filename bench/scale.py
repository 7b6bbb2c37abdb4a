"""Scale through REST: 100k and 1M memories in one scope, one and many clients.

    .venv/bin/python bench/scale.py --sizes 100000 --backends sqlite postgres \\
        --seed-text ../shared/bench/locomo/locomo-dev.json

For each size and backend: a fresh server process (``mnemonix serve``, real MiniLM, lifecycle
off) on a fresh database; N generated conversation turns of ONE user (``bench.corpus``) loaded
with their embeddings through the JSONL import; then

- RSS per memory after the import and after a restart (beyond the empty process), and the
  restart-to-ready time;
- fused (all channels) and semantic-only p50/p95 for one client, with the same run's
  references: the ``/healthz`` round trip and the query embedding time the server reports;
- searches/s, p50/p95 and searches missing a channel for 1, 4 and 8 concurrent clients;
- the semantic channel's recall@10 against exhaustive search, in-process on the same vectors.

The search figures are medians over ``--repeats`` rounds against the restarted server.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, percentile, scratch_database  # noqa: E402
from bench.corpus import contents, turn_vectors, turns  # noqa: E402
from storage.quantization import encode  # noqa: E402

MNEMONIX = str(Path(sys.executable).with_name("mnemonix"))
ADMIN = "bench-admin-key-0123456789abcdef"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
CHUNK = 10_000
MODEL = "all-MiniLM-L6-v2-int8"  # the served default (int8 MiniLM): imported codes are kept
QUESTIONS = [
    "what did {n} say about the hike last weekend?",
    "when is the school play?",
    "{n} dog",
    "how is your mom doing after the surgery",
    "did anyone mention pottery class",
    "what book did {n} finish reading?",
    "plans for the trip to japan next spring",
    "marathon training schedule",
    "who adopted a cat from the shelter?",
    "what happened at work with the new project deadline",
]


def export_lines(n: int, seed_text: Path | None, vectors: np.ndarray) -> Iterator[bytes]:
    for i, (turn, content) in enumerate(contents(n, seed_text)):
        code = encode(vectors[i], 8)
        stamp = turn.occurred_at.isoformat()
        line = {
            "id": str(uuid.UUID(int=(i + 1) * 7919 + 2**100)),
            "content": content,
            "user_id": "bench-user",
            "metadata": {"speaker": turn.speaker, "session": turn.session},
            "occurred_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "embedding": {
                "model": MODEL,
                "dim": 384,
                "bits": 8,
                "scale": code.scale,
                "data": base64.b64encode(code.payload).decode(),
            },
        }
        yield json.dumps(line, separators=(",", ":")).encode()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    port = 18000 + os.getpid() % 1000
    full = {**os.environ, **env, "MNEMONIX_PORT": str(port)}
    started = time.perf_counter()
    with log.open("a") as out:
        process = subprocess.Popen([MNEMONIX, "serve"], env=full, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited; see {log}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base, process, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=120)


def load(base: str, lines: Iterator[bytes]) -> tuple[int, float]:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=600)
    total, started, batch = 0, time.perf_counter(), []
    for line in lines:
        batch.append(line)
        if len(batch) == CHUNK:
            total += _post(admin, batch)
            batch = []
    if batch:
        total += _post(admin, batch)
    return total, total / (time.perf_counter() - started)


def _post(admin: httpx.Client, batch: list[bytes]) -> int:
    end = json.dumps({"type": "end", "count": len(batch)}).encode()
    body = b"\n".join([*batch, end]) + b"\n"
    response = admin.post(
        "/v1/admin/tenants/bench/import?create_tenant=true",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    response.raise_for_status()
    return int(response.json()["imported"])


def warm_up(base: str) -> None:
    """One write, search and context block in a scratch tenant: whatever the server loads on
    first use (the secret scanner, the token counter) is loaded before the empty RSS."""
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    admin.post("/v1/admin/tenants", json={"name": "warmup"})
    key = admin.post("/v1/admin/tenants/warmup/keys", json={"name": "warmup"}).json()["key"]
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    client.post("/v1/memories", json={"content": "Warm-up: the kettle is on.", "user_id": "w"})
    client.post("/v1/search", json={"query": "kettle", "user_id": "w"})
    client.post("/v1/context", json={"query": "kettle", "user_id": "w", "max_tokens": 50})


def tenant_key(base: str) -> str:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    return str(admin.post("/v1/admin/tenants/bench/keys", json={"name": "bench"}).json()["key"])


def queries(count: int) -> list[str]:
    from bench.corpus import NAMES

    return [QUESTIONS[i % len(QUESTIONS)].format(n=NAMES[i % len(NAMES)]) for i in range(count)]


def one_client(base: str, key: str, qs: list[str], channels: list[str] | None) -> dict[str, float]:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    times, embeds = [], []
    for q in qs:
        body: dict[str, object] = {"query": q, "user_id": "bench-user", "limit": 10}
        if channels:
            body["channels"] = channels
        t0 = time.perf_counter()
        response = client.post("/v1/search", json=body)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        embeds.append(float(response.json()["timings_ms"].get("embed", 0.0)))
    return {"p50": median(times), "p95": percentile(times, 95), "embed_p50": median(embeds)}


def concurrent(base: str, key: str, clients: int, seconds: float) -> dict[str, float]:
    qs = queries(200)
    times: list[float] = []
    missing = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        i = offset
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = client.post("/v1/search", json={"query": qs[i % 200], "user_id": "bench-user"})
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                times.append(elapsed)
                missing[0] += bool(r.json().get("missing_channels"))
            i += 1

    threads = [threading.Thread(target=worker, args=(i * 17,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "per_s": len(times) / wall,
        "p50": median(times),
        "p95": percentile(times, 95),
        "missing": missing[0],
        "n": len(times),
    }


def semantic_recall(n: int, seed_text: Path | None, vectors: np.ndarray, count: int) -> float:
    """Recall@10 of the served semantic index (IVF past its threshold) against exhaustive
    search over the same SQ8 codes, on the same entries and MiniLM query vectors."""
    from concurrent.futures import ThreadPoolExecutor

    import channels.semantic as semantic
    from channels.embedder import build_embedder
    from channels.engine import IndexEntry, RetrievalEngine, SearchSpec

    entries = [
        IndexEntry(
            id=uuid.UUID(int=i + 1),
            content="",
            occurred_at=t.occurred_at,
            user_id="bench-user",
            vector=vectors[i],
        )
        for i, t in enumerate(turns(n, seed_text=seed_text))
    ]
    embedder = build_embedder("minilm", model_path=None, threads=None, precision="int8")
    qvecs = embedder.embed(queries(count))
    results = []
    pool_ = ThreadPoolExecutor(2)
    for ivf_min in (semantic.IVF_MIN, 10**12):
        semantic.IVF_MIN = ivf_min
        engine = RetrievalEngine(
            {"semantic": semantic.SemanticChannel()}, pool=pool_, weights={"semantic": 1.0}
        )
        engine.rebuild(entries)
        ranked = []
        for q, v in zip(queries(count), qvecs, strict=True):
            spec = SearchSpec(text=q, reference_time=entries[-1].occurred_at, vector=v, limit=10)
            ranked.append([h.memory_id for h in engine.search(spec).hits])
        results.append(ranked)
        del engine
    semantic.IVF_MIN = 50_000
    got, exact = results
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)]))


def run(
    size: int, backend: str, args: argparse.Namespace, vectors: np.ndarray
) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="mnx-scale-"))
    with scratch_database(backend, work, PG_BASE + "/") as url:
        return measure(size, backend, url, work, args, vectors)


def measure(
    size: int,
    backend: str,
    url: str,
    work: Path,
    args: argparse.Namespace,
    vectors: np.ndarray,
) -> dict[str, object]:
    env = {
        "MNEMONIX_DATABASE_URL": url,
        "MNEMONIX_DATA_DIR": str(work / "data"),
        "MNEMONIX_ADMIN_KEY": ADMIN,
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_LIFECYCLE__ENABLED": "false",
        "MNEMONIX_LIMITS__MAX_BODY_BYTES": str(64 * 1024 * 1024),
    }
    out: dict[str, object] = {"size": size, "backend": backend}
    log = work / "server.log"
    with server(env, log) as (base, process, _):
        warm_up(base)  # libraries loaded at first use are the process's fixed cost
        empty = rss_mb(process.pid)
        loaded, rate = load(base, export_lines(size, args.seed_text, vectors))
        key = tenant_key(base)
        one_client(base, key, queries(20), None)  # warm-up
        out |= {"loaded": loaded, "import_per_s": rate, "rss_empty_mb": empty}
        out["kb_per_memory_ingest"] = (rss_mb(process.pid) - empty) * 1024 / size
    with server(env, log) as (base, process, ready_s):
        out["restart_s"] = ready_s
        health = []
        with httpx.Client(base_url=base) as probe:  # one client: no per-call TLS set-up
            for _ in range(50):
                t0 = time.perf_counter()
                probe.get("/healthz")
                health.append((time.perf_counter() - t0) * 1000)
        out["healthz_p50"] = median(health)
        qs = queries(args.queries)
        fused, semantic, clients = [], [], []
        for _ in range(args.repeats):  # the machine is noisy: medians of several runs
            fused.append(one_client(base, key, qs, None))
            semantic.append(one_client(base, key, qs, ["semantic"]))
            clients.append({c: concurrent(base, key, c, args.seconds) for c in args.clients})
        out["kb_per_memory_restart"] = (rss_mb(process.pid) - empty) * 1024 / size
        out["repeats"] = args.repeats
        out["fused"] = medians(fused)
        out["semantic"] = medians(semantic)
        out["clients"] = {c: medians([run[c] for run in clients]) for c in args.clients}
    return out


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs."""
    return {name: median([run[name] for run in runs]) for name in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--seed-text", type=Path, default=None)
    parser.add_argument(
        "--real", type=int, default=100_000, help="memory texts embedded for real (cached)"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--repeats", type=int, default=3, help="search measurements repeated; medians reported"
    )
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--no-recall", action="store_true")
    args = parser.parse_args()
    for size in args.sizes:
        vectors = turn_vectors(size, real=args.real, seed_text=args.seed_text)
        if not args.no_recall:
            recall = semantic_recall(size, args.seed_text, vectors, args.recall_queries)
            print(f"{size}: semantic recall@10 vs exhaustive = {recall:.3f}", flush=True)
        for backend in args.backends:
            result = run(size, backend, args, vectors)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
