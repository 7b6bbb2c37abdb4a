"""LoCoMo retrieval benchmark, through the public REST API of a running server.

    .venv/bin/python bench/locomo.py ../shared/bench/locomo/locomo-dev.json

One fresh scope (user_id) per conversation; every turn is one memory
("<speaker>: <text>", plus the image caption where the turn has one) with occurred_at from
its session's date-time and {speaker, dia_id} in metadata. Every question is searched
with reference_time = the conversation's last session date-time and limit 50, once fused
and once per channel alone. Prints turn-level evidence Recall@1/5/10/20 and NDCG@10 per
category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial) and for
categories 1-4 together, plus search latency p50/p95.

``--tune`` grid-searches fusion weights offline on the per-channel rankings (same RRF as
the server) and prints the best ones; it tunes on the data it evaluates, so its figure is
an upper bound, not a held-out result.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import api_key, client, median, percentile  # noqa: E402
from channels.base import Hit  # noqa: E402
from channels.fusion import fuse  # noqa: E402

KS = (1, 5, 10, 20)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}


def parse_session_time(text: str) -> datetime:
    """LoCoMo writes '1:56 pm on 8 May, 2023'."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def evidence_ids(raw: list[Any]) -> set[str]:
    ids: set[str] = set()
    for item in raw:
        for part in re.split(r"[;,\s]+", str(item)):
            if re.fullmatch(r"D\d+:\d+", part):
                ids.add(part)
    return ids


@dataclass
class Conversation:
    sample_id: str
    turns: list[dict[str, Any]]
    last_time: datetime
    questions: list[dict[str, Any]] = field(default_factory=list)


LONG_CHARS = 6000
"""Long-query mode: at most this much of the preceding dialogue goes into the query."""


def long_query(conv: Conversation, question: dict[str, Any], limit: int = LONG_CHARS) -> str:
    """The question as an agent with a chat history would send it: the conversation's most
    recent turns (whole turns, oldest first, up to ``limit`` characters in all) followed by
    the question, asked by the speaker who did not speak last."""
    lines: list[str] = []
    used = len(question["question"]) + 40
    for turn in reversed(conv.turns):
        if used + len(turn["content"]) + 1 > limit:
            break
        lines.append(turn["content"])
        used += len(turn["content"]) + 1
    lines.reverse()
    speakers = list(dict.fromkeys(t["metadata"]["speaker"] for t in conv.turns))
    last = conv.turns[-1]["metadata"]["speaker"]
    asker = next((s for s in speakers if s != last), last)
    return "\n".join([*lines, f"{asker}: {question['question']}"])


def typo_query(question: str, seed: int = 0) -> str:
    """The question with a typo in every other long word (two neighbouring letters swapped),
    seeded by the text: a robustness mode for chats typed in a hurry."""
    rng = random.Random(f"{seed}:{question}")
    words = question.split(" ")
    for i, word in enumerate(words):
        if len(word) >= 5 and word.isalpha() and rng.random() < 0.5:
            j = rng.randrange(1, len(word) - 2)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def query_text(conv: Conversation, question: dict[str, Any], mode: str) -> str:
    if mode == "long":
        return long_query(conv, question)
    if mode == "typo":
        return typo_query(question["question"])
    return str(question["question"])


def select(conversations: list[Conversation], spec: str) -> list[Conversation]:
    """Conversations by index: 'all', '0-3', '4,5' (tune on 0-3, report on 4-5)."""
    if spec == "all":
        return conversations
    chosen: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        chosen.extend(range(int(low), int(high or low) + 1))
    return [conversations[i] for i in chosen]


def load(path: Path) -> list[Conversation]:
    conversations = []
    for sample in json.loads(path.read_text()):
        conv = sample["conversation"]
        turns: list[dict[str, Any]] = []
        last = None
        n = 1
        while f"session_{n}" in conv:
            when = parse_session_time(conv[f"session_{n}_date_time"])
            last = when
            for turn in conv[f"session_{n}"]:
                content = f"{turn['speaker']}: {turn['text']}"
                if turn.get("blip_caption"):
                    content += f" [shares a photo: {turn['blip_caption']}]"
                turns.append(
                    {
                        "content": content,
                        "occurred_at": when.isoformat(),
                        "metadata": {"speaker": turn["speaker"], "dia_id": turn["dia_id"]},
                    }
                )
            n += 1
        assert last is not None
        questions = [
            {
                "question": q["question"],
                "category": int(q["category"]),
                "evidence": evidence_ids(q.get("evidence", [])),
            }
            for q in sample["qa"]
        ]
        questions = [q for q in questions if q["evidence"]]
        conversations.append(Conversation(str(sample["sample_id"]), turns, last, questions))
    return conversations


def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def score(runs: list[tuple[int, list[str], set[str]]]) -> dict[str, dict[str, float]]:
    """Per category and 'all 1-4': Recall@k and NDCG@10, averaged over questions."""
    groups: dict[str, list[tuple[list[str], set[str]]]] = defaultdict(list)
    for category, ranked, relevant in runs:
        groups[str(category)].append((ranked, relevant))
        if category in (1, 2, 3, 4):
            groups["1-4"].append((ranked, relevant))
    table: dict[str, dict[str, float]] = {}
    for name, items in groups.items():
        row = {f"R@{k}": sum(recall_at(r, rel, k) for r, rel in items) / len(items) for k in KS}
        row["NDCG@10"] = sum(ndcg_at(r, rel) for r, rel in items) / len(items)
        row["n"] = len(items)
        table[name] = row
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(
        f"{'category':<16}{'n':>5}"
        + "".join(f"{m:>9}" for m in [f"R@{k}" for k in KS] + ["NDCG@10"])
    )
    for name in ["1", "2", "3", "4", "5", "1-4"]:
        if name in table:
            row = table[name]
            label = f"{name} {CATEGORIES.get(int(name), '')}" if name != "1-4" else "1-4 (all)"
            print(
                f"{label:<16}{int(row['n']):>5}"
                + "".join(f"{row[m]:>9.3f}" for m in [f"R@{k}" for k in KS] + ["NDCG@10"])
            )


def ingest(http: Any, conversations: list[Conversation], run_id: str) -> dict[str, str]:
    """Store every turn; return memory id -> dia_id per scope."""
    dia_of: dict[str, str] = {}
    started, count = time.perf_counter(), 0
    for conv in conversations:
        user = f"locomo-{conv.sample_id}-{run_id}"
        for i in range(0, len(conv.turns), 100):
            batch = [{**t, "user_id": user} for t in conv.turns[i : i + 100]]
            response = http.post("/v1/memories/batch", json={"memories": batch})
            response.raise_for_status()
            for memory_id, turn in zip(response.json()["ids"], batch, strict=True):
                dia_of[memory_id] = turn["metadata"]["dia_id"]
            count += len(batch)
    elapsed = time.perf_counter() - started
    print(f"ingested {count} turns in {elapsed:.1f} s ({count / elapsed:.0f} memories/s)")
    return dia_of


def search_all(
    http: Any,
    conversations: list[Conversation],
    run_id: str,
    channels: list[str] | None,
    dia_of: dict[str, str],
    mode: str = "question",
) -> tuple[list[tuple[int, list[str], set[str]]], list[float], list[dict[str, Any]]]:
    runs, latencies, raw = [], [], []
    for conv in conversations:
        user = f"locomo-{conv.sample_id}-{run_id}"
        for q in conv.questions:
            body: dict[str, Any] = {
                "query": query_text(conv, q, mode),
                "user_id": user,
                "limit": 50,
                "reference_time": conv.last_time.isoformat(),
            }
            if channels:
                body["channels"] = channels
            t0 = time.perf_counter()
            response = http.post("/v1/search", json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            results = response.json()["results"]
            ranked = [dia_of.get(r["memory"]["id"], "?") for r in results]
            runs.append((q["category"], ranked, q["evidence"]))
            raw.append({"category": q["category"], "ranked": ranked, "evidence": q["evidence"]})
    return runs, latencies, raw


def tune(per_channel: dict[str, list[dict[str, Any]]], k: float) -> None:
    names = sorted(per_channel)
    grid = [0.0, 0.5, 1.0, 1.5, 2.0]
    best: tuple[float, tuple[float, ...]] = (-1.0, ())
    n = len(next(iter(per_channel.values())))
    for combo in itertools.product(grid, repeat=len(names)):
        if not any(combo):
            continue
        weights = dict(zip(names, combo, strict=True))
        runs = []
        for i in range(n):
            keyed = {c: per_channel[c][i]["ranked"] for c in names}
            ids = {d: j for j, d in enumerate(sorted({d for r in keyed.values() for d in r}))}
            rankings = {c: [Hit(ids[d], 0.0) for d in keyed[c]] for c in names}
            inverse = {j: d for d, j in ids.items()}
            fused = [inverse[h.key] for h in fuse(rankings, weights=weights, k=k, limit=50)]
            item = per_channel[names[0]][i]
            runs.append((item["category"], fused, item["evidence"]))
        table = score(runs)
        if table["1-4"]["R@10"] > best[0]:
            best = (table["1-4"]["R@10"], combo)
    print(
        f"\nbest offline weights (k={k}): {dict(zip(names, best[1], strict=True))} -> R@10 {best[0]:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--base-url", default="http://127.0.0.1:8420")
    parser.add_argument("--api-key")
    parser.add_argument(
        "--channels-alone", default="auto", help="comma list, 'auto' (all) or 'none'"
    )
    parser.add_argument("--tune", action="store_true")
    parser.add_argument(
        "--conversations",
        default="all",
        help="indexes into the file: 'all', '0-3' (the tune split) or '4-5' (held out)",
    )
    parser.add_argument(
        "--mode",
        choices=("question", "long", "typo", "both"),
        default="both",
        help="question: the question alone; long: the preceding dialogue plus the question; "
        "typo: the question with typos; both: question and long",
    )
    parser.add_argument("--rrf-k", type=float, default=60.0)
    args = parser.parse_args()

    conversations = select(load(args.path), args.conversations)
    http = client(args.base_url, api_key(args.api_key))
    run_id = uuid.uuid4().hex[:8]
    dia_of = ingest(http, conversations, run_id)

    modes = ["question", "long"] if args.mode == "both" else [args.mode]
    for mode in modes:
        runs, latencies, _ = search_all(http, conversations, run_id, None, dia_of, mode)
        print_table(f"fused (all channels), {mode} queries", score(runs))
        print(
            f"search latency over {len(latencies)} queries: p50 {median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms"
        )

    alone = args.channels_alone
    names: list[str] = []
    if alone == "auto":
        probe = http.post("/v1/search", json={"query": "x", "limit": 1, "explain": True}).json()
        names = sorted((probe.get("weights") or {}).keys()) or ["semantic"]
    elif alone != "none":
        names = alone.split(",")
    per_channel: dict[str, list[dict[str, Any]]] = {}
    for mode in modes:
        for name in names:
            runs, latencies, raw = search_all(http, conversations, run_id, [name], dia_of, mode)
            if mode == modes[0]:
                per_channel[name] = raw
            print_table(f"{name} alone, {mode} queries", score(runs))
            print(
                f"{name} latency: p50 {median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms"
            )
    if args.tune and per_channel:
        tune(per_channel, args.rrf_k)


if __name__ == "__main__":
    main()
