"""Soak: a bounded mixed load against a real server process (docs/reliability.md).

    .venv/bin/python bench/soak.py --duration 600 --backend sqlite
    .venv/bin/python bench/soak.py --duration 600 --backend postgres

A fresh ``mnemonix serve`` (the real MiniLM unless ``--embedder hash``; the scheduled
lifecycle off, since the soak runs it through the admin API) on a fresh database, preloaded
with ``--preload`` memories; then ``--threads`` client threads for ``--duration`` seconds,
each request one of: a single write, a batch of ten, a search, a read by id, a list page,
a delete (of a memory this thread wrote); and one thread that starts a lifecycle run every
``--lifecycle-every`` seconds. The server's RSS is sampled from ``/proc`` every five seconds.

Prints requests/s by route and overall, p50 / p95 by route, answers by status (and transport
errors), and RSS over time; ``--json PATH`` writes the same figures. A request that times
out or answers 5xx is an error; a 409 from the lifecycle (another run in progress) is not.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, scratch_database  # noqa: E402
from bench.corpus import contents  # noqa: E402
from bench.scale import rss_mb, server  # noqa: E402

ADMIN = "bench-admin-key-0123456789abcdef"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# what a client thread does, by weight: mostly searches and writes, as an agent would
MIX = {"write": 30, "batch": 6, "search": 40, "get": 10, "list": 4, "delete": 10}
RSS_EVERY = 5.0


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter[str] = Counter()

    def add(self, route: str, status: str, ms: float) -> None:
        with self.lock:
            self.latency[route].append(ms)
            self.status[f"{route} {status}"] += 1


def _call(
    rec: Recorder, http: httpx.Client, route: str, method: str, url: str, **kw: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = http.request(method, url, **kw)
    except httpx.HTTPError as exc:
        rec.add(route, type(exc).__name__, (time.perf_counter() - started) * 1000)
        return None
    rec.add(route, str(response.status_code), (time.perf_counter() - started) * 1000)
    return response


def client_thread(
    base: str, key: str, seed: int, texts: list[str], deadline: float, rec: Recorder
) -> None:
    rng = random.Random(seed)
    routes, weights = list(MIX), list(MIX.values())
    mine: list[str] = []
    user = f"user{seed % 3}"
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        while time.monotonic() < deadline:
            route = rng.choices(routes, weights)[0]
            if route in ("get", "delete") and not mine:
                route = "write"
            if route == "write":
                r = _call(rec, http, "POST /v1/memories", "POST", "/v1/memories",
                          json={"content": rng.choice(texts), "user_id": user})  # fmt: skip
                if r is not None and r.status_code == 201:
                    mine.append(r.json()["id"])
            elif route == "batch":
                items = [{"content": rng.choice(texts), "user_id": user} for _ in range(10)]
                r = _call(rec, http, "POST /v1/memories/batch", "POST", "/v1/memories/batch",
                          json={"memories": items})  # fmt: skip
                if r is not None and r.status_code == 201:
                    mine += r.json()["ids"]
            elif route == "search":
                query = " ".join(rng.choice(texts).split()[1:7])
                _call(rec, http, "POST /v1/search", "POST", "/v1/search",
                      json={"query": query, "user_id": user, "limit": 10})  # fmt: skip
            elif route == "get":
                _call(rec, http, "GET /v1/memories/{id}", "GET",
                      f"/v1/memories/{rng.choice(mine)}")  # fmt: skip
            elif route == "list":
                _call(rec, http, "GET /v1/memories", "GET", "/v1/memories",
                      params={"user_id": user, "limit": 50})  # fmt: skip
            else:
                memory_id = mine.pop(rng.randrange(len(mine)))
                _call(rec, http, "DELETE /v1/memories/{id}", "DELETE",
                      f"/v1/memories/{memory_id}")  # fmt: skip


def lifecycle_thread(base: str, every: float, deadline: float, rec: Recorder) -> None:
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=600
    ) as http:
        while time.monotonic() + every < deadline:
            time.sleep(every)
            _call(rec, http, "POST /v1/admin/lifecycle/runs", "POST",
                  "/v1/admin/lifecycle/runs", json={})  # fmt: skip


def soak(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, Any]:
    env = {
        "MNEMONIX_DATABASE_URL": url,
        "MNEMONIX_DATA_DIR": str(tmp / "data"),
        "MNEMONIX_EMBEDDER": args.embedder,
        "MNEMONIX_ADMIN_KEY": ADMIN,
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_LIFECYCLE__ENABLED": "false",
    }
    texts = [content for _, content in contents(5000, args.seed_text)]
    with server(env, tmp / "server.log") as (base, process, ready):
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"})
        admin.post("/v1/admin/tenants", json={"name": "soak"}).raise_for_status()
        key = admin.post("/v1/admin/tenants/soak/keys", json={"name": "soak"}).json()["key"]
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600
        ) as http:
            for start in range(0, args.preload, 100):
                items = [
                    {"content": t, "user_id": f"user{(start + i) % 3}"}
                    for i, t in enumerate(texts[start % 4900 : start % 4900 + 100])
                ]
                http.post("/v1/memories/batch", json={"memories": items}).raise_for_status()
        rec = Recorder()
        rss: list[tuple[float, float]] = []
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(target=client_thread, args=(base, key, i, texts, deadline, rec))
            for i in range(args.threads)
        ]
        threads.append(
            threading.Thread(
                target=lifecycle_thread, args=(base, args.lifecycle_every, deadline, rec)
            )
        )
        for t in threads:
            t.start()
        while time.monotonic() < deadline:
            rss.append((time.monotonic() - started, rss_mb(process.pid)))
            time.sleep(min(RSS_EVERY, max(0.0, deadline - time.monotonic())))
        for t in threads[:-1]:
            t.join()
        elapsed = time.monotonic() - started  # the client threads' time (rates are per it)
        rss.append((elapsed, rss_mb(process.pid)))
        threads[-1].join()  # a lifecycle run may still be going
        stats = admin.get("/v1/admin/stats").json()
        admin.close()
    if args.log:  # the server's log (no client values in it): what a 5xx was
        shutil.copyfile(tmp / "server.log", args.log)
    routes = {
        route: {
            "requests": len(values),
            "per_second": round(len(values) / elapsed, 2),
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
        }
        for route, values in sorted(rec.latency.items())
    }
    total = sum(len(v) for v in rec.latency.values())
    errors = {
        k: n
        for k, n in rec.status.items()
        if not k.split()[-1].startswith("2") and k != "POST /v1/admin/lifecycle/runs 409"
    }
    return {
        "backend": args.backend,
        "embedder": args.embedder,
        "threads": args.threads,
        "duration_s": round(elapsed, 1),
        "ready_s": round(ready, 1),
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "routes": routes,
        "statuses": dict(sorted(rec.status.items())),
        "errors": errors,
        "memories_at_end": stats["totals"]["memories"],
        "rss_mb": [(round(t), round(m, 1)) for t, m in rss],
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['backend']}, {result['embedder']}, {result['threads']} client threads, "
        f"{result['duration_s']} s: {result['requests']} requests, "
        f"{result['requests_per_second']}/s; {result['memories_at_end']} memories at the end"
    )
    print(f"{'route':34} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for route, r in result["routes"].items():
        print(
            f"{route:34} {r['requests']:>9} {r['per_second']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8}"
        )
    print("answers by status:", json.dumps(result["statuses"]))
    print("errors:", json.dumps(result["errors"]) if result["errors"] else "none")
    samples = result["rss_mb"]
    step = max(1, len(samples) // 10)
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    print("RSS MB over time (s: MB):", ", ".join(f"{t}: {m}" for t, m in shown))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--embedder", choices=["minilm", "hash"], default="minilm")
    parser.add_argument("--preload", type=int, default=2000)
    parser.add_argument("--lifecycle-every", type=float, default=60.0)
    parser.add_argument("--seed-text", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--log", type=Path, default=None, help="keep the server log here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(args.backend, Path(tmp), PG_BASE) as url,
    ):
        result = soak(args, url, Path(tmp))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
