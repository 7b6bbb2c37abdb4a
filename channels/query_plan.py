"""What form a query has, and the parts a search runs for it.

A question or a keyword list is one part: the text as given. A dialogue (three or more
non-empty lines, or one long paragraph split into sentences) is two parts:

- **focus**: the last turn (with the one before when the last is a few words only), what
  the dialogue is asking now, at weight 1. A ``Name: text`` turn loses its prefix and its
  pronouns are resolved: "I"/"my" is its speaker, "you"/"your" the other party (the last
  other speaker), so "Did you paint it?" from Caroline asks "Did Melanie paint it?";
- **context**: the ``CONTEXT_TURNS`` turns before it, at weight ``context_weight(focus)`` (less
  the more specific the focus is); its vector
  is the recency-weighted mean of those turns' embeddings (the turn ``a`` turns back weighs
  ``2^(-a / HALF_LIFE)``), its text the turns themselves.

Each channel ranks every part; ``combine_parts`` merges a channel's part rankings by weighted
RRF into one ranking, so fusion and explain still see one list per channel. An embedder reads
only the first 256 tokens of a text, so embedding a whole dialogue would keep its *oldest*
turns; the parts keep the newest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from channels.base import Hit
from channels.text import tokenize

QueryForm = Literal["question", "keywords", "dialogue"]
CONTEXT_TURNS = 6
CONTEXT_WEIGHT = 0.5
SPECIFIC = 2
"""Content words from which on a focus is specific enough to lean less on the context."""
HALF_LIFE = 2.0
LONG_PARAGRAPH = 600
"""A single paragraph longer than this is split into sentences and planned as a dialogue."""
SHORT_FOCUS = 25
PART_K = 10.0
"""The RRF constant that merges one channel's part rankings."""
_QUESTION = re.compile(
    r"^\s*(?:who|whom|whose|what|when|where|which|why|how|did|does|do|is|are|was|were|has|"
    r"have|had|can|could|would|will|should)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class QueryPart:
    role: str
    """``query`` (the whole text), ``focus`` or ``context``."""
    text: str
    weight: float
    embed: tuple[tuple[str, float], ...]
    """Texts whose weighted, normalised mean embedding is this part's query vector."""


@dataclass(frozen=True, slots=True)
class QueryPlan:
    form: QueryForm
    parts: tuple[QueryPart, ...]

    @property
    def focus(self) -> str:
        """The text adaptive rules read: the question, or a dialogue's last turn."""
        return self.parts[0].text


def query_form(text: str) -> QueryForm:
    if len(_turns(text)) >= 3:
        return "dialogue"
    if "?" in text or _QUESTION.match(text) or len(text.split()) > 8:
        return "question"
    return "keywords"


def _turns(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 3 and len(text) > LONG_PARAGRAPH:
        lines = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    return lines


_SPEAKER = re.compile(r"^([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}):\s+(.*)$", re.DOTALL)
_FIRST_PERSON = re.compile(r"\b(?:I|me|myself)\b")
_FIRST_POSSESSIVE = re.compile(r"\b(?:my|mine)\b", re.IGNORECASE)
_SECOND_PERSON = re.compile(r"\b(?:you|yourself)\b", re.IGNORECASE)
_SECOND_POSSESSIVE = re.compile(r"\b(?:your|yours)\b", re.IGNORECASE)


def speaker_of(turn: str) -> tuple[str | None, str]:
    """``"Name: text"`` -> (Name, text); a turn without a speaker prefix -> (None, turn)."""
    found = _SPEAKER.match(turn)
    return (found.group(1), found.group(2)) if found else (None, turn)


def resolve_pronouns(text: str, speaker: str, other: str | None) -> str:
    """A turn's "I"/"my" is its speaker, its "you"/"your" the other party."""
    text = _FIRST_PERSON.sub(speaker, text)
    text = _FIRST_POSSESSIVE.sub(f"{speaker}'s", text)
    if other is not None:
        text = _SECOND_PERSON.sub(other, text)
        text = _SECOND_POSSESSIVE.sub(f"{other}'s", text)
    return text


def _focus(turns: Sequence[str]) -> str:
    """The last turn (and the one before when it is a few words only), its speaker prefix
    dropped and its pronouns resolved to the dialogue's speakers."""
    chosen = list(turns[-1:] if len(turns[-1]) >= SHORT_FOCUS else turns[-2:])
    speaker, _ = speaker_of(chosen[-1])
    other = None
    for turn in reversed(turns[:-1]):
        name, _ = speaker_of(turn)
        if name is not None and name != speaker:
            other = name
            break
    out = []
    for turn in chosen:
        name, said = speaker_of(turn)
        if name is None:
            out.append(turn)
            continue
        partner = other if name == speaker else speaker
        out.append(resolve_pronouns(said, name, partner))
    return "\n".join(out)


def context_weight(focus: str) -> float:
    """``CONTEXT_WEIGHT * min(1, SPECIFIC / n)`` for a focus of ``n`` content words: a focus
    that says what it wants ("what books has Melanie read with her kids") needs little of
    the dialogue before it; a bare "and then?" needs it all."""
    n = len(tokenize(focus))
    return CONTEXT_WEIGHT * min(1.0, SPECIFIC / max(n, 1))


def plan_query(text: str, *, split_dialogue: bool = True) -> QueryPlan:
    form = query_form(text)
    if form != "dialogue" or not split_dialogue:
        return QueryPlan(form, (QueryPart("query", text, 1.0, ((text, 1.0),)),))
    turns = _turns(text)
    focus_turns = turns[-1:] if len(turns[-1]) >= SHORT_FOCUS else turns[-2:]
    focus = _focus(turns)
    before = turns[: len(turns) - len(focus_turns)][-CONTEXT_TURNS:]
    parts = [QueryPart("focus", focus, 1.0, ((focus, 1.0),))]
    if before:
        weighted = tuple(
            (turn, 2.0 ** (-(len(before) - i) / HALF_LIFE)) for i, turn in enumerate(before)
        )
        parts.append(QueryPart("context", "\n".join(before), context_weight(focus), weighted))
    return QueryPlan("dialogue", tuple(parts))


def combine_parts(
    rankings: Sequence[Sequence[Hit]], weights: Sequence[float], limit: int
) -> list[Hit]:
    """One channel's rankings of the parts merged by weighted RRF (constant ``PART_K``); a
    hit keeps the score and explanation of the part that ranked it best. One part: as is."""
    if len(rankings) == 1:
        return list(rankings[0][:limit])
    fused: dict[int, float] = {}
    best: dict[int, tuple[int, Hit]] = {}
    for hits, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(hits, start=1):
            fused[hit.key] = fused.get(hit.key, 0.0) + weight / (PART_K + rank)
            if hit.key not in best or rank < best[hit.key][0]:
                best[hit.key] = (rank, hit)
    order = sorted(fused, key=lambda key: (-fused[key], key))[:limit]
    return [_rescored(best[key][1], fused[key]) for key in order]


def _rescored(hit: Hit, score: float) -> Hit:
    return Hit(hit.key, score, hit.why)
