"""What the framework adapters cost per call, against a real server process over loopback.

    PYTHONPATH=. .venv/bin/python bench/adapters.py [--items 500] [--embedder minilm]

Starts ``mnemonix serve`` on a scratch SQLite database (the hash embedder unless
``--embedder minilm``), then times, one client, one call at a time (median and p95 in ms):
``MnemonixStore`` put of a new key, put of an existing key, get, query search, filter-only
search of one namespace, ``list_namespaces``; ``MnemonixSession`` ``add_items`` of one turn and
``get_items(limit=10)`` with ``--items`` turns in the session. The store holds ``--items``
items over 10 users and 5 namespaces each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnemonix_client.langgraph import MnemonixStore  # noqa: E402
from mnemonix_client.openai_agents import MnemonixSession  # noqa: E402
from tests.server import running_server  # noqa: E402

WORDS = [
    "peanut",
    "billing",
    "violin",
    "lisbon",
    "jazz",
    "offsite",
    "postgres",
    "window",
    "standup",
    "birthday",
]


def _text(i: int) -> str:
    return f"note {i}: {WORDS[i % 10]} {WORDS[(i * 7) % 10]} and {WORDS[(i * 3) % 10]}"


def _report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name:<34} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   n={len(ms)}")


def _time(fn: Callable[[int], object], n: int) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--embedder", default="hash", choices=["hash", "minilm"])
    args = parser.parse_args()
    n, repeat = args.items, args.repeat
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), {"MNEMONIX_EMBEDDER": args.embedder}) as base,
    ):
        key = (Path(tmp) / "data" / "default.key").read_text().strip()
        with MnemonixStore(api_key=key, base_url=base) as store:

            def ns(i: int) -> tuple[str, str]:
                return (f"user{i % 10}", f"topic{i % 5}")

            _report(
                "store.put (new key)",
                _time(lambda i: store.put(ns(i), f"k{i}", {"text": _text(i)}), n),
            )
            _report(
                "store.put (existing key)",
                _time(lambda i: store.put(ns(i), f"k{i}", {"text": _text(i + 1)}), repeat),
            )
            _report("store.get", _time(lambda i: store.get(ns(i), f"k{i}"), repeat))
            _report(
                "store.search (query, one user)",
                _time(lambda i: store.search((f"user{i % 10}",), query=WORDS[i % 10]), repeat),
            )
            _report(
                "store.search (no query, namespace)",
                _time(lambda i: store.search(ns(i), limit=10), repeat),
            )
            _report("store.list_namespaces", _time(lambda i: store.list_namespaces(), 10))

        async def session_bench() -> None:
            session = MnemonixSession("bench", user_id="user0", api_key=key, base_url=base)
            await session.add_items([{"role": "user", "content": _text(i)} for i in range(n)])
            adds, gets = [], []
            for i in range(repeat):
                start = time.perf_counter()
                await session.add_items([{"role": "assistant", "content": _text(i)}])
                adds.append(time.perf_counter() - start)
                start = time.perf_counter()
                await session.get_items(limit=10)
                gets.append(time.perf_counter() - start)
            _report("session.add_items (one turn)", adds)
            _report(f"session.get_items(10) of {n}+ turns", gets)
            await session.close()

        asyncio.run(session_bench())


if __name__ == "__main__":
    main()
