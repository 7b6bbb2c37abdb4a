"""Choosing what goes into a context block: duplicates out, then the best that fit the budget.

``dedupe`` keeps the first (best-ranked) of near-identical memories: the same words after
case folding and punctuation are dropped, or word sets with Jaccard similarity >= 0.9 when
both have at least five words (a re-stated fact with one word changed).

``fit`` walks the candidates in rank order and keeps each one whose line (and group header,
for a new group) still fits, so a long memory that does not fit leaves room for shorter,
lower-ranked ones. The sum of the pieces' counts is the block's count (``render.py``; in
JSON one more, for the last element's comma, which the block leaves out); the
block is then counted whole, and should the two ever disagree the lowest-ranked choices are
dropped until the whole block fits: the budget holds by construction, not by assumption.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.context.render import (
    JSON_CLOSE,
    JSON_OPEN,
    Entry,
    Format,
    block_pieces,
    group_key,
    render,
    render_line,
)

_WORD = re.compile(r"\w+")
NEAR_DUPLICATE_JACCARD = 0.9
NEAR_DUPLICATE_MIN_WORDS = 5


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def dedupe(entries: Sequence[Entry]) -> tuple[list[Entry], int]:
    """The entries without near-duplicates of a better-ranked one, and how many were dropped."""
    kept: list[Entry] = []
    seen_exact: set[str] = set()
    word_sets: list[frozenset[str]] = []
    for entry in entries:
        words = _words(entry.text)
        exact = " ".join(words)
        bag = frozenset(words)
        if exact in seen_exact or (
            len(bag) >= NEAR_DUPLICATE_MIN_WORDS
            and any(
                len(other) >= NEAR_DUPLICATE_MIN_WORDS
                and len(bag & other) / len(bag | other) >= NEAR_DUPLICATE_JACCARD
                for other in word_sets
            )
        ):
            continue
        seen_exact.add(exact)
        word_sets.append(bag)
        kept.append(entry)
    return kept, len(entries) - len(kept)


@dataclass(frozen=True, slots=True)
class Fitted:
    entries: list[Entry]
    """The chosen entries, in rank order."""
    block: str
    tokens: int
    over_budget: int
    """Candidates left out because they did not fit."""


def fit(
    ranked: Sequence[Entry],
    *,
    max_tokens: int,
    fmt: Format,
    count: Callable[[str], int],
    count_many: Callable[[Sequence[str]], list[int]],
) -> Fitted:
    if not ranked:
        return Fitted([], "", 0, 0)
    n = len(ranked)
    # every piece a block of these candidates can hold, counted in one call
    counts = count_many(
        [render_line(e, fmt) for e in ranked]
        + [_header_piece(e, fmt) for e in ranked]
        + [JSON_OPEN, JSON_CLOSE]
    )
    lines, headers = counts[:n], counts[n : 2 * n]
    # the fixed pieces: JSON's opening and closing lines, and the line breaks joining them
    fixed = counts[2 * n] + counts[2 * n + 1] + 1 if fmt == "json" else 0
    chosen: list[Entry] = []
    groups: set[tuple[str, str]] = set()
    total = fixed
    for entry, line_cost, header_cost in zip(ranked, lines, headers, strict=True):
        key = group_key(entry)
        # a line costs its tokens and its line break; a new group adds its header, its line
        # break and (after the first group) a blank separating line's break
        cost = line_cost + 1
        if fmt != "json" and key not in groups:
            cost += header_cost + 1 + (1 if groups else 0)
        if fmt != "json" and not chosen:
            cost -= 1  # the block's first line has no line break before it
        # in JSON the last element drops its comma (one token): this one, if it is the last
        if total + cost - (1 if fmt == "json" else 0) > max_tokens:
            continue
        chosen.append(entry)
        groups.add(key)
        total += cost
    block = render(chosen, fmt)
    tokens = count(block)
    while tokens > max_tokens and chosen:
        chosen.pop()
        block = render(chosen, fmt)
        tokens = count(block)
    return Fitted(chosen, block, tokens, len(ranked) - len(chosen))


def _header_piece(entry: Entry, fmt: Format) -> str:
    if fmt == "json":
        return ""
    return block_pieces([entry], fmt)[0]
