"""Fit the relevance model (``channels/relevance.py``) and report its calibration.

    .venv/bin/python bench/fit_relevance.py ../shared/bench/locomo/locomo-dev.json \
        --fit 0-3 --report 4-5

Runs every question of the ``--fit`` conversations through the in-process engine (as
bench/tune_fusion.py does), takes the top 10 fused hits of each with their features
(``channels.relevance.features``) and the label "this turn is cited as evidence", fits a
logistic regression (scikit-learn, L2, C=1) and prints the coefficient table to paste into
``channels/relevance.py``. Then prints the expected calibration error (ECE, 10 equal-width
bins: ``sum_b |b| / N * |mean predicted - share relevant|``) of the model *in the code* on the
``--report`` conversations, for questions of categories 1-4 and for the adversarial ones
(category 5), with the reliability table.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.locomo import load, select  # noqa: E402
from bench.tune_fusion import CachedEmbedder, build  # noqa: E402
from channels.engine import SearchSpec  # noqa: E402
from channels.fusion import ChannelRank  # noqa: E402
from channels.relevance import features  # noqa: E402

TOP = 10


def collect(
    path: Path, which: str, pool: ThreadPoolExecutor, embedder: CachedEmbedder
) -> list[tuple[int, dict[str, float], float, bool]]:
    """(category, features, relevance in the code, label) of every top-10 hit."""
    conversations = select(load(path), which)
    rows = []
    for conv, (engine, dia) in zip(
        conversations, build(conversations, pool, embedder), strict=True
    ):
        for q in conv.questions:
            out = engine.search(
                SearchSpec(
                    text=q["question"],
                    reference_time=conv.last_time,
                    limit=TOP,
                    user_id="u",
                    embed=embedder.embed,
                )
            )
            for position, hit in enumerate(out.hits, start=1):
                ranks: dict[str, Any] = dict(hit.fused.channels)
                for name, rank in hit.why.get("feedback", {}).get("ranks", {}).items():
                    ranks[name] = ChannelRank(rank, 0.0)
                label = dia[hit.memory_id] in q["evidence"]
                rows.append((q["category"], features(ranks, position), hit.relevance, label))
    embedder.save()
    return rows


def ece(predicted: np.ndarray, labels: np.ndarray, bins: int = 10) -> tuple[float, list[str]]:
    edges = np.linspace(0, 1, bins + 1)
    total, table = 0.0, []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (predicted >= low) & ((predicted < high) | (high == 1.0))
        if not inside.any():
            continue
        gap = abs(predicted[inside].mean() - labels[inside].mean())
        total += inside.sum() / predicted.size * gap
        table.append(
            f"| {low:.1f}-{high:.1f} | {int(inside.sum())} | {predicted[inside].mean():.3f} "
            f"| {labels[inside].mean():.3f} |"
        )
    return total, table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--fit", default="0-3")
    parser.add_argument("--report", default="4-5")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mnemonix-locomo-vectors.npz"))
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    pool = ThreadPoolExecutor(max_workers=4)
    embedder = CachedEmbedder(args.cache)
    rows = collect(args.path, args.fit, pool, embedder)
    names = sorted({k for _, f, _, _ in rows for k in f})
    x = np.array([[f.get(n, 0.0) for n in names] for _, f, _, _ in rows])
    y = np.array([label for *_, label in rows])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    print(f"fitted on {len(rows)} hits of conversations {args.fit} ({y.mean():.3f} relevant)")
    print(f"INTERCEPT = {model.intercept_[0]:.4f}")
    coef = dict(zip(names, model.coef_[0].tolist(), strict=True))
    print("RECIPROCAL_RANK = {")
    for n in names:
        if n.startswith("rr:"):
            print(f'    "{n[3:]}": {coef[n]:.4f},')
    print("}")
    print(
        "COSINE = {"
        + ", ".join(f'"{n[4:]}": {coef[n]:.4f}' for n in names if n.startswith("cos:"))
        + "}"
    )
    print(f"FOUND_BY = {coef.get('found_by', 0.0):.4f}")
    print(f"POSITION = {coef.get('position', 0.0):.4f}")

    report = collect(args.path, args.report, pool, embedder)
    for title, wanted in (("categories 1-4", {1, 2, 3, 4}), ("category 5 (adversarial)", {5})):
        chosen = [(p, label) for c, _, p, label in report if c in wanted]
        predicted = np.array([p for p, _ in chosen])
        labels = np.array([label for _, label in chosen], dtype=float)
        error, table = ece(predicted, labels)
        print(f"\n{title}, conversations {args.report}: {len(chosen)} hits, ECE {error:.3f}")
        print("| relevance | hits | mean predicted | share relevant |\n| --- | --- | --- | --- |")
        print("\n".join(table))
    pool.shutdown()


if __name__ == "__main__":
    main()
