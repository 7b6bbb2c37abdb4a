"""Keyword, graph and temporal channels alone at tenant scale (in-process, no server).

    PYTHONPATH=$PWD .venv/bin/python bench/channels_scale.py --sizes 100000 1000000

For every size N and channel, a fresh child process generates N conversation-like memories
in one scope (a year of chat between a few speakers: Zipf-distributed words from a 20k-word
vocabulary, turns of 5-60 words, names of people and places, a date mentioned in one turn
in eight, each memory's neighbours as context), builds the channel with ``rebuild``, then
prints:

- build time;
- search p50/p95 (ms) over ``--queries`` questions ("What did Caroline say about the
  pottery class last week?": a name, a few words, a time expression);
- the p50 of a search that follows a one-memory upsert (no rebuild after a write);
- bytes per memory, measured three ways: the RSS delta of the build (``/proc/self/statm``,
  documents generated before), the same after ``malloc_trim(0)`` (glibc keeps freed heap
  pages of the build's temporaries; trimming shows what the index itself holds), and the
  channel's own ``stats().index_bytes``.

One child per (size, channel) keeps the RSS deltas apart. Figures depend on the machine:
compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels.base import Doc, Query  # noqa: E402
from channels.registry import specs  # noqa: E402

CHANNELS = ("keyword", "graph", "temporal")
START = datetime(2023, 1, 1, 8, tzinfo=UTC)
YEAR = 365 * 86_400
NAMES = (  # noqa: SIM905
    "Caroline Melanie Jon Gina Dave Priya Tomasz Aiko Lucas Fatima Omar Sofia Mateo "
    "Ingrid Kwame Elena Raj Chloe Hugo Nadia Felix Yuki Amara Leo Zara Ivan Mira Theo "
    "Lena Bruno"
).split()
PLACES = (  # noqa: SIM905
    "Paris Lisbon Tokyo Boston Denver Nairobi Oslo Madrid Berlin Toronto Sydney "
    "Chicago Yosemite Brooklyn Kyoto Seattle Austin Portland Dublin Prague"
).split()
COMMON = (  # noqa: SIM905
    "the a i you to and it was of in that my so for is we have with but on just at "
    "this be really what like me all do about not they go had are get think one when "
    "out would there time know can good day much now great some been yeah how did "
    "because feel"
).split()
MONTHS = "January February March April May June July August September October November December"
TIME_PHRASES = ["yesterday", "last week", "last weekend", "two weeks ago", "last month"]


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """Pronounceable pseudo-words: stand-ins for content words (stemming keeps them apart)."""
    onsets = "b c d f g h j k l m n p r s t v w z br ch cl dr fl gr pl sh st tr".split()  # noqa: SIM905
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"]
    codas = ["", "", "n", "r", "l", "s", "t", "m", "nd", "st", "ng"]
    words: set[str] = set()
    while len(words) < size:
        syllables = int(rng.integers(1, 4))
        word = (
            "".join(
                onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                for _ in range(syllables)
            )
            + codas[rng.integers(len(codas))]
        )
        words.add(word)
    return [str(w) for w in rng.permutation(sorted(words))]  # rank unrelated to spelling


class Corpus:
    """Deterministic conversation-like memories and questions (see the module docstring)."""

    def __init__(self, seed: int = 7, vocabulary: int = 20_000) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = _vocabulary(self.rng, vocabulary)
        ranks = np.arange(1, vocabulary + 1, dtype=np.float64)
        zipf = 1 / ranks**1.05
        self.cdf = np.cumsum(zipf / zipf.sum())
        # phrases that recur (hobbies, projects): repeated bigrams make graph entities
        self.topics = [
            f"{self.words[int(a)]} {self.words[int(b)]}"
            for a, b in self.rng.integers(50, 3000, size=(400, 2))
        ]

    def _content_words(self, n: int) -> list[str]:
        picks = np.searchsorted(self.cdf, self.rng.random(n))
        return [self.words[min(int(i), len(self.words) - 1)] for i in picks]

    def _sentence(self, length: int) -> str:
        rng = self.rng
        content = self._content_words(length)
        common = rng.random(length) < 0.45
        words = [
            COMMON[int(rng.integers(len(COMMON)))] if c else w
            for c, w in zip(common, content, strict=True)
        ]
        if rng.random() < 0.35:
            words.insert(int(rng.integers(len(words) + 1)), NAMES[int(rng.integers(len(NAMES)))])
        if rng.random() < 0.15:
            words.insert(int(rng.integers(len(words) + 1)), PLACES[int(rng.integers(len(PLACES)))])
        if rng.random() < 0.3:
            words.insert(int(rng.integers(len(words) + 1)), self.topics[int(rng.integers(400))])
        return " ".join(words)

    def _mention(self, at: datetime) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return TIME_PHRASES[int(rng.integers(len(TIME_PHRASES)))]
        day = at - timedelta(days=int(rng.integers(1, 400)))
        if rng.random() < 0.3:
            return f"in {day.year}"
        return f"on {day.day} {MONTHS.split()[day.month - 1]} {day.year}"

    def docs(self, n: int) -> list[Doc]:
        rng = self.rng
        lengths = np.clip(rng.lognormal(2.7, 0.6, n).astype(int), 5, 60)
        times = np.sort(rng.integers(0, YEAR, n))
        texts = []
        for i in range(n):
            at = START + timedelta(seconds=int(times[i]))
            text = self._sentence(int(lengths[i]))
            if rng.random() < 0.125:
                text += f" {self._mention(at)}"
            texts.append(text[0].upper() + text[1:] + ".")
        out = []
        for i in range(n):
            speaker = NAMES[(i // 200 + i) % 2 + 2 * ((i // 5000) % 10)]
            out.append(
                Doc(
                    key=i,
                    content=f"{speaker}: {texts[i]}",
                    occurred_at=START + timedelta(seconds=int(times[i])),
                    metadata={"speaker": speaker},
                    context_before=texts[i - 1] if i else "",
                    context_after=texts[i + 1] if i + 1 < n else "",
                )
            )
        return out

    def queries(self, n: int) -> list[str]:
        rng = self.rng
        out = []
        for _ in range(n):
            who = NAMES[int(rng.integers(len(NAMES)))]
            words = " ".join(self._content_words(int(rng.integers(1, 4))))
            if rng.random() < 0.3:
                words += " " + self.topics[int(rng.integers(400))]
            when = rng.choice(
                [
                    "last week",
                    "in May 2023",
                    "two months ago",
                    "recently",
                    "on 14 March 2023",
                    "in 2023",
                    "the first time",
                    "last summer",
                ]  # fmt: skip
            )
            out.append(f"What did {who} say about {words} {when}?")
        return out


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _measure(name: str, size: int, queries: int) -> dict[str, float]:
    corpus = Corpus()
    docs = corpus.docs(size)
    texts = corpus.queries(queries)
    reference = START + timedelta(days=365)
    gc.collect()
    channel = specs()[name].factory(384)
    before = _rss()
    started = time.perf_counter()
    channel.rebuild(docs)
    build = time.perf_counter() - started
    gc.collect()
    rss = _rss() - before
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    trimmed = _rss() - before
    index_bytes = channel.stats().index_bytes
    timings, answered = [], 0
    for text in texts:
        started = time.perf_counter()
        hits = channel.search(Query(text, reference, limit=50))
        timings.append(time.perf_counter() - started)
        answered += bool(hits)
    after_write = []
    for i, extra in enumerate(corpus.docs(50)):
        new = Doc(size + i, extra.content, extra.occurred_at, extra.metadata)
        channel.upsert([new])
        started = time.perf_counter()
        channel.search(Query(texts[i], reference, limit=50))
        after_write.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    return {
        "build_s": build,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "after_write_p50_ms": float(np.median(after_write) * 1000),
        "answered": answered / len(texts),
        "rss_bytes_per_memory": rss / size,
        "trimmed_rss_bytes_per_memory": trimmed / size,
        "index_bytes_per_memory": index_bytes / size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--channels", nargs="+", default=list(CHANNELS), choices=CHANNELS)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--child", nargs=2, metavar=("CHANNEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child[0], int(args.child[1]), args.queries)))
        return
    print(
        f"{'N':>9} {'channel':<9} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p50 after write':>15} {'answered':>8} {'RSS B/mem':>9} {'trimmed':>7} {'index B/mem':>11}"
    )
    for size in args.sizes:
        for name in args.channels:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    str(size),
                    "--queries",
                    str(args.queries),
                ],  # fmt: skip
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"{size:>9} {name:<9} {r['build_s']:>8.1f} {r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} "
                f"{r['after_write_p50_ms']:>15.2f} {r['answered']:>8.2f} "
                f"{r['rss_bytes_per_memory']:>9.0f} {r['trimmed_rss_bytes_per_memory']:>7.0f} "
                f"{r['index_bytes_per_memory']:>11.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
