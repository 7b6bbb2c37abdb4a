"""What screening writes for secrets (and PII) costs: microseconds per memory for the
detector alone on real conversation turns, and the time of a 100-turn batch write through
the API (in-process, real MiniLM, a scratch SQLite) with the tenant's secrets policy
``allow`` (no scan) against ``redact`` (the default) and ``redact`` + PII.

    .venv/bin/python bench/secrets_scan.py ../shared/bench/locomo/locomo-dev.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from bench.locomo import load
from service.app import create_app
from service.privacy.detect import find_pii, find_secrets
from service.settings import Settings

ADMIN = "bench-admin-key-0123456789"


def _per_memory_us(texts: list[str], scan: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            scan(text)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("locomo", type=Path)
    parser.add_argument("--batches", type=int, default=8, help="100-turn batches per policy")
    args = parser.parse_args()
    turns = [t["content"] for c in load(args.locomo) for t in c.turns]
    print(f"{len(turns)} LoCoMo dev turns, mean {statistics.mean(map(len, turns)):.0f} chars")
    print(f"find_secrets: {_per_memory_us(turns, find_secrets):.0f} us per memory")
    flagged = {t: [f.kind for f in find_secrets(t)] for t in turns}
    flagged = {t: kinds for t, kinds in flagged.items() if kinds}
    print(f"turns flagged as holding a credential: {len(flagged)} {sorted(flagged.values())}")
    print(f"find_pii:     {_per_memory_us(turns, find_pii):.0f} us per memory")

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            data_dir=Path(tmp),
            admin_key=ADMIN,
            bootstrap_tenant="bench",
            lifecycle={"enabled": False},
        )
        with TestClient(create_app(settings)) as client:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            key = client.post("/v1/admin/tenants/bench/keys", headers=admin).json()["key"]
            headers = {"Authorization": f"Bearer {key}"}
            policies = {
                "allow": {"secrets": "allow"},
                "redact": {},
                "redact+pii": {"pii": True},
            }
            timings: dict[str, list[float]] = {name: [] for name in policies}
            batches = [turns[i * 100 : (i + 1) * 100] for i in range(args.batches)]
            client.post(  # warm up the embedder and the database
                "/v1/memories/batch",
                json={"memories": [{"content": t} for t in batches[0]]},
                headers=headers,
            )
            for batch in batches:  # interleaved, so machine noise hits every policy alike
                for name, policy in policies.items():
                    client.put("/v1/admin/tenants/bench/write-policy", json=policy, headers=admin)
                    body = {"memories": [{"content": t, "user_id": name} for t in batch]}
                    started = time.perf_counter()
                    response = client.post("/v1/memories/batch", json=body, headers=headers)
                    timings[name].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 201, response.text
    print(f"\n100-turn batch write, median of {args.batches} (ms):")
    base = statistics.median(timings["allow"])
    for name, values in timings.items():
        value = statistics.median(values)
        print(f"  {name:<11} {value:7.1f}  ({value - base:+.1f} vs allow)")


if __name__ == "__main__":
    main()
