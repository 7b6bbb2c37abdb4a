"""Memory that stays true: a scripted conversation through the REST API of a real server.

    PYTHONPATH=$PWD .venv/bin/python bench/supersession.py [--backend sqlite|postgres]
    PYTHONPATH=$PWD .venv/bin/python bench/supersession.py --scale 10000

A user's city, job and partner change twice each over three periods (2024-01, 2024-07,
2025-02). The conversation is written period by period through ``POST /v1/memories`` to a
fresh ``mnemonix serve`` process (real MiniLM, lifecycle off); most changes are detected by
the write path, one job change says ``supersedes`` explicitly. Then for each question
("where do I live?", ...) it prints the facts among the top 5 hits of the default search,
of ``as_of`` each period, of ``known_at`` the end of each period's writes (the store's
knowledge then), and of ``include_superseded`` (the chain). Filler turns of the same
conversation are searched too but not printed.

``--scale N``: search latency in-process (all four channels, hash vectors, no server) over
N memories of which a fifth are superseded: the default view, ``include_superseded``,
``as_of`` and ``known_at`` against the same engine with nothing superseded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database  # noqa: E402
from bench.scale import ADMIN, PG_BASE, server  # noqa: E402

USER = "sam"
PERIODS: list[tuple[str, str, list[str]]] = [
    (
        "2024-01",
        "2024-01-15T10:00:00Z",
        [
            "I live in Lisbon.",
            "I work at Initech.",
            "My partner is Alex.",
            "I had grilled sardines by the river tonight.",
            "Went for a long run along the coast this morning.",
        ],
    ),
    (
        "2024-07",
        "2024-07-15T10:00:00Z",
        [
            "I just moved to Berlin!",
            "I started a new job at Globex.",  # explicit: supersedes the Initech memory
            "I'm dating Jordan now.",
            "Trying to learn German, the articles are hard.",
            "Found a great bakery around the corner.",
        ],
    ),
    (
        "2025-02",
        "2025-02-15T10:00:00Z",
        [
            "We relocated to Tokyo.",
            "I joined Hooli.",
            "My girlfriend is Robin.",
            "The cherry blossom forecast came out today.",
            "My commute is only twenty minutes now.",
        ],
    ),
]
QUESTIONS = {
    "city": "Where do I live? Which city is home?",
    "job": "Where do I work? Which company is my job at?",
    "partner": "Who is my partner? Who am I dating?",
}
FACT_WORDS = {
    "city": ("Lisbon", "Berlin", "Tokyo"),
    "job": ("Initech", "Globex", "Hooli"),
    "partner": ("Alex", "Jordan", "Robin"),
}
AS_OF = {"2024-01": "2024-03-01T00:00:00Z", "2024-07": "2024-10-01T00:00:00Z"}
AS_OF["2025-02"] = "2025-06-01T00:00:00Z"


def facts(hits: list[dict[str, Any]], topic: str) -> list[str]:
    """The topic's facts among the hits, in rank order (superseded ones marked)."""
    out = []
    for hit in hits:
        memory = hit["memory"]
        word = next((w for w in FACT_WORDS[topic] if w in memory["content"]), None)
        if word is not None:
            out.append(word + (" (superseded)" if memory["superseded_by"] else ""))
    return out


def conversation(base: str) -> None:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    key = admin.post("/v1/admin/tenants", json={"name": "truth"})
    key.raise_for_status()
    secret = admin.post("/v1/admin/tenants/truth/keys", json={"name": "bench"}).json()["key"]
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    known: dict[str, str] = {}
    ids: dict[str, str] = {}
    for period, at, turns in PERIODS:
        for text in turns:
            body: dict[str, Any] = {
                "content": text,
                "user_id": USER,
                "metadata": {"speaker": "Sam"},
                "occurred_at": at,
            }
            if text.startswith("I started a new job"):
                body["supersedes"] = [ids["Initech"]]
            response = http.post("/v1/memories", json=body)
            response.raise_for_status()
            for words in FACT_WORDS.values():
                for word in words:
                    if word in text:
                        ids[word] = response.json()["id"]
        time.sleep(0.05)
        known[period] = datetime.now(UTC).isoformat()
        time.sleep(0.05)

    def ask(topic: str, **extra: Any) -> str:
        body = {"query": QUESTIONS[topic], "user_id": USER, "limit": 5, **extra}
        response = http.post("/v1/search", json=body)
        response.raise_for_status()
        return ", ".join(facts(response.json()["results"], topic)) or "-"

    print("| recall | city | job | partner |")
    print("| --- | --- | --- | --- |")
    print("| default (now) | " + " | ".join(ask(t) for t in QUESTIONS) + " |")
    for period in AS_OF:
        row = " | ".join(ask(t, as_of=AS_OF[period]) for t in QUESTIONS)
        print(f"| as_of {AS_OF[period][:10]} | {row} |")
    for period, at in known.items():
        row = " | ".join(ask(t, known_at=at) for t in QUESTIONS)
        print(f"| known_at end of {period} writes | {row} |")
    print(
        "| include_superseded | "
        + " | ".join(ask(t, include_superseded=True) for t in QUESTIONS)
        + " |"
    )
    listed = http.get("/v1/supersessions").json()["items"]
    print(f"\nsupersessions recorded: {len(listed)}")
    for link in reversed(listed):
        detail = link["detail"]
        change = (
            f"{detail['attribute']}: {detail['previous_value']} -> {detail['value']}"
            if link["kind"] == "detected"
            else "(explicit supersedes)"
        )
        print(f"- {link['kind']:<8} {link['source']:<6} {change}")


def scale(n: int, queries: int) -> None:
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    import numpy as np

    from bench.common import median, percentile
    from channels.embedder_hash import HashEmbedder
    from channels.engine import IndexEntry, RetrievalEngine, SearchSpec
    from channels.registry import build_channels
    from channels.timeline import Timeline, TimeView
    from service.settings import SearchSettings

    rng = np.random.default_rng(7)
    embedder = HashEmbedder()
    words = [f"w{i}" for i in range(5000)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(n)]
    vectors = embedder.embed(texts)
    settings = SearchSettings()

    def engine(replaced_share: float) -> RetrievalEngine:
        built = RetrievalEngine(
            build_channels(dimension=embedder.dimension),
            pool=ThreadPoolExecutor(4),
            weights=settings.weights,
            budget_ms=10_000,
        )
        entries = []
        for i in range(n):
            at = start + timedelta(minutes=i)
            replaced = rng.random() < replaced_share
            line = Timeline(
                valid_from=at.timestamp(),
                valid_until=(at + timedelta(days=30)).timestamp() if replaced else float("inf"),
                known_from=at.timestamp(),
                known_until=(at + timedelta(days=30)).timestamp() if replaced else float("inf"),
                replaced=replaced,
            )
            entries.append(
                IndexEntry(
                    id=uuid.UUID(int=i + 1),
                    content=texts[i],
                    occurred_at=at,
                    user_id="u",
                    vector=vectors[i],
                    timeline=line,
                )
            )
        built.rebuild(entries)
        return built

    mid = (start + timedelta(minutes=n // 2)).timestamp()
    plain, mixed = engine(0.0), engine(0.2)
    views = {
        "nothing superseded, default": (plain, TimeView()),
        "20% superseded, default": (mixed, TimeView()),
        "20% superseded, include_superseded": (mixed, TimeView(include_superseded=True)),
        "20% superseded, as_of": (mixed, TimeView(as_of=mid)),
        "20% superseded, known_at": (mixed, TimeView(known_at=mid)),
    }
    asked = [" ".join(rng.choice(words, size=4)) for _ in range(queries)]
    print(f"| {n:,} memories, 4 channels | p50 ms | p95 ms |")
    print("| --- | --- | --- |")
    for name, (built, view) in views.items():
        took = []
        for text in asked:
            spec = SearchSpec(
                text=text,
                reference_time=start + timedelta(days=400),
                vector=embedder.embed([text])[0],
                user_id="u",
                view=view,
            )
            t0 = time.perf_counter()
            built.search(spec)
            took.append((time.perf_counter() - t0) * 1000)
        print(f"| {name} | {median(took):.1f} | {percentile(took, 95):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--scale", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if args.scale:
        scale(args.scale, args.queries)
        return
    work = Path(tempfile.mkdtemp(prefix="mnx-truth-"))
    with scratch_database(args.backend, work, PG_BASE + "/") as url:
        env = {
            "MNEMONIX_DATABASE_URL": url,
            "MNEMONIX_DATA_DIR": str(work / "data"),
            "MNEMONIX_ADMIN_KEY": ADMIN,
            "MNEMONIX_BOOTSTRAP_TENANT": "",
            "MNEMONIX_LIFECYCLE__ENABLED": "false",
        }
        with server(env, work / "server.log") as (base, _, _):
            conversation(base)


if __name__ == "__main__":
    main()
