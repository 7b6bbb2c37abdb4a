"""What narrower keys cost: the token bucket alone, and a request through each kind of key.

    .venv/bin/python bench/key_limits.py --requests 2000

1. ``RateLimiter.take`` per call, one thread and four threads sharing the limiter (one lock).
2. ``GET /v1/memories/{id}`` and ``GET /v1/memories?limit=10`` in-process (httpx over the ASGI
   app, SQLite in a scratch directory, the hash embedder), p50 / p95 in microseconds, with a
   full key, a key bound to one user, and a full key under a rate limit high enough never to
   refuse: the difference is what scopes, binding and the bucket add to a request.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile  # noqa: E402
from service.app import create_app  # noqa: E402
from service.ratelimit import Rate, RateLimiter  # noqa: E402
from service.settings import Settings  # noqa: E402

ADMIN = "bench-admin-key-0123456789"


def bucket(calls: int, threads: int) -> float:
    """Nanoseconds per ``take`` (wall time / calls), ``threads`` threads on one limiter."""
    limiter = RateLimiter()
    rate = Rate(per_second=1e9, burst=1_000_000_000)
    keys = [uuid.uuid4() for _ in range(threads)]

    def run(key: uuid.UUID) -> None:
        for _ in range(calls // threads):
            limiter.take(key, rate)

    workers = [threading.Thread(target=run, args=(k,)) for k in keys]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.perf_counter() - started) / calls * 1e9


def requests(n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            data_dir=Path(tmp),
            embedder="hash",
            admin_key=ADMIN,
            bootstrap_tenant=None,
            lifecycle={"enabled": False},
        )
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with TestClient(create_app(settings)) as client:
            client.post("/v1/admin/tenants", json={"name": "bench"}, headers=admin)

            def key(**body: object) -> dict[str, str]:
                made = client.post("/v1/admin/tenants/bench/keys", json=body, headers=admin)
                return {"Authorization": f"Bearer {made.json()['key']}"}

            full = key()
            memories = [
                {"content": f"memory {i} about topic {i % 7}", "user_id": f"user{i % 10}"}
                for i in range(200)
            ]
            stored = client.post("/v1/memories/batch", json={"memories": memories}, headers=full)
            target = stored.json()["ids"][0]  # user0's
            kinds = {
                "full key": full,
                "bound to user0": key(user_id="user0", scopes=["read"]),
                "rate-limited (never refused)": key(
                    rate_limit={"per_second": 1e6, "burst": 1_000_000}
                ),
            }
            for path in (f"/v1/memories/{target}", "/v1/memories?limit=10"):
                for name, headers in kinds.items():
                    for _ in range(50):  # warm the key cache and the connection
                        client.get(path, headers=headers)
                    times = []
                    for _ in range(n):
                        t0 = time.perf_counter()
                        answer = client.get(path, headers=headers)
                        times.append((time.perf_counter() - t0) * 1e6)
                        assert answer.status_code == 200
                    label = f"GET {path.split('?')[0].replace(target, '{id}')} ({name})"
                    out[label] = {
                        "p50_us": round(median(times), 1),
                        "p95_us": round(percentile(times, 95), 1),
                    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--bucket-calls", type=int, default=400_000)
    args = parser.parse_args()
    for threads in (1, 4):
        ns = bucket(args.bucket_calls, threads)
        print(f"RateLimiter.take, {threads} thread(s): {ns:.0f} ns a call")
    for label, figures in requests(args.requests).items():
        print(f"{label}: p50 {figures['p50_us']} us, p95 {figures['p95_us']} us")


if __name__ == "__main__":
    main()
