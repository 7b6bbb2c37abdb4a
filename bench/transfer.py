"""Bulk transfer through REST: import and export of one 100k-memory tenant, and a batch write.

    .venv/bin/python bench/transfer.py --memories 100000 --runs 3 --backends sqlite postgres

For each backend and run: a fresh database (PostgreSQL: created and dropped here, on
``--postgres``), a fresh ``mnemonix serve`` process (hash embedder), then

- import: ``POST /v1/admin/tenants/bench/import?create_tenant=true`` of a generated export
  (N conversation-like memories of 5-60 words, random unit 384-d vectors quantized to 8 bits
  exactly as storage/quantization.py does, so the server runs no model), in one request;
- export: ``GET /v1/admin/tenants/bench/export``, read to the end and its lines counted;
- batch: ``POST /v1/memories/batch`` of 500 new texts, timed against the hash embedder's own
  time for the same texts in this process: the difference per row is the non-embedding
  overhead of a batch write (SQL, history, indexes, JSON).

Prints memories/s for import and export (median of the runs) and the batch overhead per row.
``--legacy`` sends the file without its end line (for servers before the end line existed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database  # noqa: E402
from bench.ingest_search import PEOPLE, THINGS, WHEN, WHY  # noqa: E402
from channels.embedder_hash import HashEmbedder  # noqa: E402
from tests.server import running_server  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789"
DIM = 384
_EVERYDAY = (
    "the a and to of in that it is was for on with as at this we they you I my our about "
    "really think maybe should could would know remember said told asked plan going next week "
    "weekend meeting dinner lunch coffee project deadline trip flight hotel book movie music "
    "garden dog cat doctor gym run walk train bus car office team budget report idea question "
    "answer call message email friend sister brother mother father kids school birthday gift"
)
WORDS = _EVERYDAY.split()


def conversation_text(rng: random.Random) -> str:
    """5 to 60 words: a turn about people, things and times, padded with everyday words."""
    head = f"{rng.choice(PEOPLE)}: I {rng.choice(THINGS)} {rng.choice(WHEN)} {rng.choice(WHY)}"
    words = head.split()
    target = rng.randint(5, 60)
    words = words[:target]
    while len(words) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export_file(n: int, *, seed: int = 7, end_line: bool = True) -> bytes:
    """An export of ``n`` memories, as the server writes it (id order, end line last)."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scales = np.abs(vectors).max(axis=1) / 127.0  # storage.quantization.encode, 8 bits
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = sorted(uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n))
    lines = []
    for i, memory_id in enumerate(ids):
        moment = _ts(start + timedelta(seconds=37 * i))
        user = f"user-{i % 50}"
        line = {
            "id": str(memory_id),
            "content": conversation_text(rng),
            "user_id": user,
            "agent_id": "assistant",
            "session_id": f"{user}-s{i // 200}",
            "metadata": {"turn": i % 200, "speaker": "user" if i % 2 else "assistant"},
            "occurred_at": moment,
            "created_at": moment,
            "updated_at": moment,
            "importance": 0.5,
            "pinned": False,
            "access_count": 0,
            "last_accessed_at": None,
            "strength": 1.0,
            "stability": 1.0,
            "tier": "hot",
            "version": 1,
            "superseded_by": None,
            "embedding": {
                "model": "hash",
                "dim": DIM,
                "bits": 8,
                "scale": float(scales[i]),
                "data": base64.b64encode(codes[i].tobytes()).decode("ascii"),
            },
            "links": [],
        }
        lines.append(json.dumps(line, separators=(",", ":")))
    if end_line:
        lines.append(json.dumps({"type": "end", "count": n}, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


@contextmanager
def _log_on_failure(tmp: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for log in tmp.glob("server-*.log"):
            print(log.read_text()[-3000:], file=sys.stderr)
        raise


def _export_seconds(http: httpx.Client, expected_lines: int) -> float:
    started = time.perf_counter()
    lines = 0
    with http.stream("GET", "/v1/admin/tenants/bench/export") as stream:
        stream.raise_for_status()
        for chunk in stream.iter_bytes():
            lines += chunk.count(b"\n")
    assert lines == expected_lines, (lines, expected_lines)
    return time.perf_counter() - started


def _server_phases(tmp: Path) -> dict[str, float]:
    """Where the import's time went, from the server's log line (validate, store, index)."""
    found: dict[str, float] = {}
    for log in tmp.glob("server-*.log"):
        text_ = log.read_text()
        for name, pattern in (
            ("validate_s", r"lines validated in ([0-9.]+) s"),
            ("store_s", r"stored in ([0-9.]+) s"),
            ("index_s", r"indexed in ([0-9.]+) s"),
        ):
            match = re.search(pattern, text_)
            if match:
                found[name] = float(match.group(1))
    return found


def one_run(backend: str, body: bytes, n: int, args: argparse.Namespace) -> dict[str, float]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as scratch:
        tmp = Path(scratch)
        with scratch_database(backend, tmp, args.postgres) as url, _log_on_failure(tmp):
            env = {
                "MNEMONIX_DATABASE_URL": url,
                "MNEMONIX_EMBEDDER": "hash",
                "MNEMONIX_ADMIN_KEY": ADMIN_KEY,
                "MNEMONIX_LIMITS__MAX_BODY_BYTES": str(len(body) + 1024),
            }
            with (
                running_server(tmp, env) as base,
                httpx.Client(base_url=base, headers=admin, timeout=600) as http,
            ):
                started = time.perf_counter()
                response = http.post(
                    "/v1/admin/tenants/bench/import?create_tenant=true",
                    content=body,
                    headers={"Content-Type": "application/x-ndjson"},
                )
                imported = time.perf_counter() - started
                response.raise_for_status()
                assert response.json()["imported"] == n, response.text

                exported = [_export_seconds(http, n + (0 if args.legacy else 1)) for _ in range(2)]
                # the first export runs while the server's change feed still walks the
                # import's history events; the second, usually after it
                result = {
                    "import": n / imported,
                    "export": n / exported[0],
                    "export_again": n / exported[1],
                }
                result.update(_server_phases(tmp))
                if args.batch:
                    result.update(batch_overhead(http))
                return result


def batch_overhead(http: httpx.Client) -> dict[str, float]:
    """Per-row time of a 500-item batch write minus the embedder's own time for its texts."""
    http.post("/v1/admin/tenants", json={"name": "writer"})
    key = http.post("/v1/admin/tenants/writer/keys", json={"name": "bench"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(11)
    embedder = HashEmbedder(dimension=DIM)
    totals, embeds = [], []
    for _ in range(5):
        texts = [conversation_text(rng) for _ in range(500)]
        items = [
            {"content": t, "user_id": "u1", "metadata": {"turn": i}} for i, t in enumerate(texts)
        ]
        started = time.perf_counter()
        response = http.post("/v1/memories/batch", json={"memories": items}, headers=headers)
        totals.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
        started = time.perf_counter()
        embedder.embed(texts)
        embeds.append(time.perf_counter() - started)
    total, embed = statistics.median(totals[1:]), statistics.median(embeds[1:])
    return {
        "batch_ms": total * 1000,
        "embed_ms": embed * 1000,
        "overhead_us_per_row": (total - embed) / 500 * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "MNEMONIX_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/"
        ),
        help="server URL ending in '/': a database is created and dropped under it",
    )
    parser.add_argument("--legacy", action="store_true", help="no end line (older servers)")
    parser.add_argument("--no-batch", dest="batch", action="store_false")
    args = parser.parse_args()

    started = time.perf_counter()
    body = export_file(args.memories, end_line=not args.legacy)
    print(
        f"generated {args.memories} memories, {len(body) / 2**20:.1f} MiB "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    for backend in args.backends:
        runs = []
        for i in range(args.runs):
            result = one_run(backend, body, args.memories, args)
            runs.append(result)
            print(
                f"  {backend} run {i + 1}: "
                + ", ".join(f"{k}={v:,.0f}" for k, v in result.items()),
                flush=True,
            )
        summary = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"{backend}: N={args.memories}, median of {args.runs}: "
            f"import {summary['import']:,.0f} memories/s, export {summary['export']:,.0f} "
            f"memories/s (again: {summary['export_again']:,.0f})"
            + (
                f"; batch of 500: {summary['batch_ms']:.0f} ms, hash embedding {summary['embed_ms']:.0f} ms, "
                f"overhead {summary['overhead_us_per_row']:.0f} us/row"
                if "batch_ms" in summary
                else ""
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
