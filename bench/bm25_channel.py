"""Keyword (BM25) channel: build, write and query latency at 10k and 100k memories, in-process.

    .venv/bin/python bench/bm25_channel.py --sizes 10000 100000 --queries 300

The corpus is synthetic conversational English, 15-25 words a memory: words drawn from the
unigram distribution of the LoCoMo dev conversations (``--locomo``, default
../shared/bench/locomo/locomo-dev.json next to the repo) with 8% of the words from a
Zipfian (s=1.07) tail of 200k made-up names and rare words, so that the vocabulary grows with
the corpus as in Heaps' law. Queries are the LoCoMo questions. Without the LoCoMo file, every
word comes from the made-up Zipfian vocabulary and queries are sampled the same way.

Prints, per size: build time (``rebuild``, tokenisation included), upsert rate (new keys and
replacements, one document per call), remove rate, query p50/p95 with no scope, with a
scope of 1% of the documents and for a worst case of six of the 30 most common words, query p95 with one write before every query (the lazy
compaction of touched postings included), and stats (index_bytes, terms, postings).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile  # noqa: E402
from channels.base import Doc, Query  # noqa: E402
from channels.keyword import STOP_WORDS, KeywordChannel, tokenize  # noqa: E402

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_LOCOMO = ROOT.parent / "shared" / "bench" / "locomo" / "locomo-dev.json"
T = TypeVar("T")
SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "su", "ti", "va", "de", "po", "li", "an", "er"]


class Vocabulary:
    """Draws words: a head distribution (LoCoMo unigrams or stop words) plus a Zipf tail."""

    def __init__(self, rng: random.Random, head: Counter[str], tail_share: float) -> None:
        self.rng = rng
        self.head_words = [w for w, _ in head.most_common()]
        self.head_cum = np.cumsum(np.array([n for _, n in head.most_common()], dtype=np.float64))
        ranks = np.arange(1, 200_001, dtype=np.float64)
        self.tail_cum = np.cumsum(ranks**-1.07)
        self.tail_words = [self._made_up(i) for i in range(200_000)]
        self.tail_share = tail_share

    def _made_up(self, i: int) -> str:
        word = ""
        while True:
            word += SYLLABLES[i % len(SYLLABLES)]
            i //= len(SYLLABLES)
            if i == 0:
                return word + "x"

    def words(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            if self.rng.random() < self.tail_share:
                u = self.rng.random() * self.tail_cum[-1]
                out.append(self.tail_words[int(np.searchsorted(self.tail_cum, u))])
            else:
                u = self.rng.random() * self.head_cum[-1]
                out.append(self.head_words[int(np.searchsorted(self.head_cum, u))])
        return out


def corpus_source(locomo: Path | None, rng: random.Random) -> tuple[Vocabulary, list[str], str]:
    if locomo is not None and locomo.exists():
        samples = json.loads(locomo.read_text())
        counts: Counter[str] = Counter()
        questions = []
        for sample in samples:
            conv = sample["conversation"]
            n = 1
            while f"session_{n}" in conv:
                for turn in conv[f"session_{n}"]:
                    counts.update(re.findall(r"[\w']+", turn["text"].lower()))
                n += 1
            questions += [q["question"] for q in sample["qa"]]
        return Vocabulary(rng, counts, 0.08), questions, f"LoCoMo unigrams + tail ({locomo})"
    stop = Counter({w: 1000 // (i + 1) for i, w in enumerate(sorted(STOP_WORDS))})
    vocab = Vocabulary(rng, stop, 0.55)
    questions = [" ".join(vocab.words(rng.randint(4, 9))) for _ in range(500)]
    return vocab, questions, "made-up Zipf vocabulary (no LoCoMo file)"


def make_docs(vocab: Vocabulary, n: int, start: int = 0) -> list[Doc]:
    return [
        Doc(
            key=start + i, content=" ".join(vocab.words(vocab.rng.randint(15, 25))), occurred_at=NOW
        )
        for i in range(n)
    ]


def timed_ms(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def per_second(fn: Callable[[T], object], items: list[T]) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - t0)


def latencies(channel: KeywordChannel, queries: list[Query], warm_up: int = 20) -> list[float]:
    for query in queries[:warm_up]:
        channel.search(query)
    times = []
    for query in queries:
        t0 = time.perf_counter()
        channel.search(query)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def run(size: int, vocab: Vocabulary, texts: list[str], n_queries: int, rng: random.Random) -> None:
    docs = make_docs(vocab, size)
    channel = KeywordChannel()
    rss0 = rss_mb()
    build_s = timed_ms(lambda: channel.rebuild(docs)) / 1000
    rss1 = rss_mb()
    queries = [Query(texts[i % len(texts)], NOW, limit=50) for i in range(n_queries)]
    scoped = [
        Query(q.text, NOW, limit=50, allowed=np.sort(rng.sample(range(size), size // 100)))
        for q in queries
    ]
    print(f"\n== {size:,} documents ==")
    print(
        f"build (rebuild, tokenisation included): {build_s:.2f} s  ({size / build_s:,.0f} docs/s)"
    )
    common = [w for w in vocab.head_words[:300] if tokenize(w)][:30]  # head is by frequency
    heavy = [Query(" ".join(rng.sample(common, 6)), NOW, limit=50) for _ in range(n_queries)]
    for label, qs in (("no scope", queries), ("scope 1%", scoped), ("6 common", heavy)):
        lat = latencies(channel, qs)
        print(f"query {label:9s} p50 {median(lat):6.2f} ms  p95 {percentile(lat, 95):6.2f} ms")
    hits = [len(channel.search(q)) for q in queries[:50]]
    print(f"mean hits/query (limit 50): {sum(hits) / len(hits):.1f}")

    fresh = make_docs(vocab, 2000, start=size)
    rate = per_second(lambda d: channel.upsert([d]), fresh)
    print(f"upsert new keys:     {rate:,.0f} docs/s")
    replace = [
        Doc(key=rng.randrange(size), content=d.content, occurred_at=NOW)
        for d in make_docs(vocab, 2000)  # new texts: the tokenizer cache would flatter reuse
    ]
    rate = per_second(lambda d: channel.upsert([d]), replace)
    print(f"upsert replacements: {rate:,.0f} docs/s")
    drop = rng.sample(range(size), 2000)
    rate = per_second(lambda k: channel.remove([k]), drop)
    print(f"remove:              {rate:,.0f} docs/s")

    mixed = []
    extra = make_docs(vocab, len(queries), start=size + len(fresh))
    for doc, query in zip(extra, queries, strict=True):
        channel.upsert([doc])
        mixed += latencies(channel, [query], warm_up=0)
    print(f"query after a write  p50 {median(mixed):6.2f} ms  p95 {percentile(mixed, 95):6.2f} ms")
    stats = channel.stats()
    print(
        f"stats: documents {stats.documents:,}  index_bytes {stats.index_bytes / 2**20:.1f} MiB  "
        f"terms {stats.extra['terms']:,}  postings {stats.extra['postings']:,}  "
        f"(process RSS grew {rss1 - rss0:.0f} MiB during build)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab, questions, source = corpus_source(args.locomo, rng)
    print(f"corpus: {source}; queries: {len(questions)} distinct texts")
    for size in args.sizes:
        run(size, vocab, questions, args.queries, rng)


if __name__ == "__main__":
    main()
