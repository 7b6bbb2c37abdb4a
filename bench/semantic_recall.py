"""Recall@10 of the quantized FAISS semantic channel against exact float32 search.

    .venv/bin/python bench/semantic_recall.py ../shared/bench/locomo/locomo-dev.json

Embeds every LoCoMo turn and question with the real MiniLM, indexes the turns in the
semantic channel at each precision (8-bit scalar, 4-bit scalar, 1-bit signs), and compares
each question's top 10 with brute-force numpy cosine over the unquantized vectors.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.locomo import load  # noqa: E402
from channels.base import Doc, Query  # noqa: E402
from channels.embedder import build_embedder  # noqa: E402
from channels.semantic import SemanticChannel  # noqa: E402
from storage.quantization import decode, encode  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    conversations = load(args.path)
    embedder = build_embedder("minilm", model_path=None, threads=None)
    turns = embedder.embed([t["content"] for c in conversations for t in c.turns])
    questions = embedder.embed([q["question"] for c in conversations for q in c.questions])
    now = datetime.now(UTC)
    exact = np.argsort(-(questions @ turns.T), axis=1, kind="stable")[:, :10]
    print(f"{len(turns)} turns, {len(questions)} questions, dimension {turns.shape[1]}")
    stored4 = [decode(encode(v, 4), turns.shape[1]) for v in turns]
    for tier, label, rescore in (
        ("hot", "8-bit scalar", False),
        ("cold", "4-bit scalar", False),
        ("archived", "1-bit signs", False),
        ("archived", "1-bit + 4-bit re-score", True),
    ):
        channel = SemanticChannel(dimension=turns.shape[1])
        if rescore:  # what the engine does with the stored (SQL) 4-bit codes of archived memories
            channel.rescore = lambda keys: {k: (stored4[k], 4) for k in keys}
        channel.rebuild(
            [
                Doc(key=i, content="", occurred_at=now, vector=v, tier=tier)
                for i, v in enumerate(turns)
            ]
        )
        recall = np.mean(
            [
                len(
                    {h.key for h in channel.search(Query("q", now, limit=10, vector=q))}
                    & set(exact[i].tolist())
                )
                / 10
                for i, q in enumerate(questions)
            ]
        )
        bytes_per = channel.stats().index_bytes / len(turns)
        print(
            f"{label:<24} recall@10 vs exact float32: {recall:.3f}   index bytes/memory: {bytes_per:.0f}"
        )


if __name__ == "__main__":
    main()
