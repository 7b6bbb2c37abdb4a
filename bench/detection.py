"""Precision and recall of supersession detection on the labelled pairs.

    .venv/bin/python bench/detection.py [--show-errors]

For each pair (``bench/supersession_pairs.py``) the older and the newer memory are read for
claims exactly as the write path reads them (``lifecycle.claims`` with the service's entity
extractor and speaker rule: "<Name>: " turns are said by Name, others by the user), and the
pair is predicted positive when the newer memory outdates the older. The same pairs are
also run through the previous contradiction patterns (``lifecycle.contradictions``,
newest-vs-older on one entity and attribute) as the baseline.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.supersession_pairs import PAIRS, SPEAKER  # noqa: E402
from lifecycle import contradictions  # noqa: E402
from lifecycle.claims import Stated, extract_claims, outdated  # noqa: E402
from service.memories.supersession import proper_names  # noqa: E402

_TURN = re.compile(r"^(?P<speaker>[A-Z][a-z]+): (?P<text>.*)$")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _split(text: str) -> tuple[str, str]:
    m = _TURN.match(text)
    return (m.group("speaker"), m.group("text")) if m else (SPEAKER, text)


def detected(older: str, newer: str) -> bool:
    statements = []
    for i, raw in enumerate((older, newer)):
        speaker, text = _split(raw)
        for claim in extract_claims(text, speaker=speaker, names=proper_names(text)):
            statements.append(Stated(memory=i, order=T0 + timedelta(days=i), claim=claim))
    return any(o.old == 0 and o.new == 1 for o in outdated(statements))


def baseline(older: str, newer: str) -> bool:
    statements = []
    for i, raw in enumerate((older, newer)):
        speaker, text = _split(raw)
        for claim in contradictions.extract_claims(text, speaker=speaker):
            statements.append(contradictions.Stated(memory=i, order=i, claim=claim))
    return any(
        new.memory == 1 and old.memory == 0
        for new, old in contradictions.contradictions(statements)
    )


def table(predict: object) -> tuple[dict[str, list[int]], float, float, int, int, int]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp fp fn tn
    for category, older, newer, label in PAIRS:
        got = predict(older, newer)  # type: ignore[operator]
        cell = 0 if got and label else 1 if got else 2 if label else 3
        per[category][cell] += 1
    tp = sum(v[0] for v in per.values())
    fp = sum(v[1] for v in per.values())
    fn = sum(v[2] for v in per.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return per, precision, recall, tp, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    positives = sum(p[3] for p in PAIRS)
    print(f"{len(PAIRS)} pairs: {positives} positive, {len(PAIRS) - positives} hard negatives\n")
    print("| detector | precision | recall | F1 | TP | FP | FN |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for name, predict in (
        ("claims (this)", detected),
        ("contradiction patterns (before)", baseline),
    ):
        per, p, r, tp, fp, fn = table(predict)
        results[name] = per
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"| {name} | {p:.3f} | {r:.3f} | {f1:.3f} | {tp} | {fp} | {fn} |")
    print("\nper category (claims): positives found / n, negatives wrongly superseded / n\n")
    print("| category | label | n | detected |")
    print("| --- | --- | --- | --- |")
    for category, (tp, fp, fn, tn) in results["claims (this)"].items():
        if tp + fn:
            print(f"| {category} | supersedes | {tp + fn} | {tp} |")
        if fp + tn:
            print(f"| {category} | does not | {fp + tn} | {fp} |")
    if args.show_errors:
        print()
        for category, older, newer, label in PAIRS:
            if detected(older, newer) != label:
                kind = "FN" if label else "FP"
                print(f"{kind} [{category}] {older!r} -> {newer!r}")


if __name__ == "__main__":
    main()
