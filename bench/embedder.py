"""Embedding speed: sentence-transformers (the baseline) against ``MiniLMEmbedder``, one run.

    .venv/bin/python bench/embedder.py --texts 1024 --repeats 3 --queries 200

Prints, for each: texts/s when ``embed`` is called with batches of 64 and of 128 texts (the
median of ``--repeats`` passes over the corpus), single-query
latency p50/p95 over distinct, uncached queries, and for ours also the latency of a query
while another thread ingests batches of 200 texts, and of a cached (repeated) query.
Each engine runs in its own child process (baseline first), so their thread pools never meet.
Finally the cosine agreement of ours with the baseline over the corpus (mean and min).
The corpus is synthetic memory-like English of mixed length (4 to ~60 words).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a script: the process is ours to configure

from bench.common import median, percentile  # noqa: E402
from channels.embedder import MiniLMEmbedder, default_model_path  # noqa: E402

WHO = ["Alice", "Bob", "the user", "my manager", "Carol's dog", "our landlord", "Dr. Okafor"]
DID = ["prefers", "booked", "cancelled", "mentioned", "forgot", "is allergic to", "bought"]
WHAT = [
    "a vegetarian restaurant near the office",
    "the flight to Lisbon on Friday",
    "peanuts and shellfish",
    "the quarterly budget review",
    "a blue bicycle with a broken chain",
    "jazz concerts in small venues",
    "learning Japanese before the trip",
    "green tea instead of coffee",
]
TAIL = [
    "",
    " yesterday",
    " because it was raining",
    ", according to the email from last Tuesday",
    " and asked for a reminder the day before, since the last one was missed",
]
EXTRA = [
    "The invoice was paid twice by mistake and a refund has been requested.",
    "Nobody followed up afterwards, which delayed the whole project by several days "
    "and annoyed the client, who had already planned the launch around that date.",
    "Remember to water the tomatoes.",
]

Encode = Callable[[Sequence[str]], object]


def corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        text = f"{rng.choice(WHO)} {rng.choice(DID)} {rng.choice(WHAT)}{rng.choice(TAIL)}."
        if rng.random() < 0.3:
            text += " " + rng.choice(EXTRA)
        texts.append(f"{text[0].upper()}{text[1:]} (#{i})")
    return texts


def throughput(encode: Encode, texts: list[str], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        encode(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def latencies_ms(encode: Encode, queries: list[str]) -> list[float]:
    out = []
    for query in queries:
        started = time.perf_counter()
        encode([query])
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, rates: dict[int, list[float]], lat: list[float]) -> None:
    per_batch = "  ".join(f"batch {b}: {median(r):6.0f} texts/s" for b, r in rates.items())
    print(
        f"{name:<24} {per_batch}  single p50 {median(lat):5.1f} ms  p95 {percentile(lat, 95):5.1f} ms",
        flush=True,
    )


def run_engine(engine: str, args: argparse.Namespace, out: Path) -> None:
    """Measure one engine in this process; print its line and save its corpus embeddings."""
    texts = corpus(args.texts, seed=1)
    queries = [f"what does {q.lower()}" for q in corpus(args.queries, seed=2)]
    if engine == "baseline":
        import torch
        from sentence_transformers import SentenceTransformer

        if args.threads:
            torch.set_num_threads(args.threads)
        model = SentenceTransformer(str(default_model_path()), device="cpu")

        def st_encode(batch: Sequence[str]) -> object:
            return model.encode(list(batch), normalize_embeddings=True)

        encode: Encode = st_encode
        name = f"sentence-transformers (torch threads {torch.get_num_threads()})"
    else:
        ours = MiniLMEmbedder(threads=args.threads)
        encode = ours.embed
        name = f"MiniLMEmbedder[{ours.backend}]"
    encode(texts[:64])  # warm-up
    rates: dict[int, list[float]] = {64: [], 128: []}
    for _ in range(args.repeats):
        for batch in rates:
            rates[batch].append(throughput(encode, texts, batch))
    report(name, rates, latencies_ms(encode, queries))
    np.save(out, np.asarray(encode(texts), dtype=np.float32))
    if engine == "baseline":
        return
    stop = threading.Event()

    def ingest() -> None:
        while not stop.is_set():
            encode(texts[:200])

    worker = threading.Thread(target=ingest)
    worker.start()
    loaded = latencies_ms(encode, [q + " ?" for q in queries])
    stop.set()
    worker.join()
    cached = latencies_ms(encode, queries)
    print(
        f"  query while another thread ingests batches of 200: p50 {median(loaded):5.1f} ms  "
        f"p95 {percentile(loaded, 95):5.1f} ms"
    )
    print(
        f"  cached (repeated) query: p50 {median(cached):.3f} ms  p95 {percentile(cached, 95):.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--engine", choices=["baseline", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        run_engine(args.engine, args, args.out)
        return
    print(f"{args.texts} texts, {args.queries} distinct queries, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        saved = []
        # One process per engine: torch's OpenMP threads spin after each call and would
        # starve ONNX Runtime's threads (and vice versa) if both lived in one process.
        for engine in ("baseline", "ours"):
            out = Path(scratch) / f"{engine}.npy"
            subprocess.run(
                [sys.executable, __file__, *sys.argv[1:], "--engine", engine, "--out", str(out)],
                check=True,
            )
            saved.append(np.load(out))
    cosines = np.sum(saved[0] * saved[1], axis=1)
    print(
        f"agreement with sentence-transformers: cosine mean {cosines.mean():.7f}  min {cosines.min():.7f}"
    )


if __name__ == "__main__":
    main()
