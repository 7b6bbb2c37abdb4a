"""Single-valued facts read from a memory's text, LLM-free, and which memories they outdate.

A **claim** is ``(subject, attribute, value)``: "I moved to Berlin" said by Ann is
``(ann, home, berlin)``. Only attributes that hold one value at a time are read (where one
lives and works, the job, the partner, age, a favourite X, phone, email, name, ...), in
sentences that assert a present fact. Precision comes first (a wrong supersession hides a
true memory; a missed one only leaves an old one in recall), so a sentence is skipped when
it is a question, negated, hypothetical or wished-for ("I'd love to live in Rome"), about
the past ("I used to work at IBM", "I lived in Paris") or the future ("I'm moving to
Oslo next year"); subjects are "I" / "we" (the speaker: metadata ``speaker``, else the
user), "my <relative>" and a name the entity extractor recognises; pronouns ("she") are
never resolved. Values of places, employers and partners must be capitalised names.

``outdated`` (the rule): within one scope, a statement is outdated by the first later
statement of the same subject and attribute with a different value (values that extend one
another, "New York" / "New York City", are the same). A *memory* is outdated only when every
claim it makes is: "I live in Paris and work at IBM" stays current after "I moved to Berlin"
until a later memory also changes the job. Its successor is the memory that outdated its
last remaining claim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from lifecycle import claim_patterns as patterns

Names = Callable[[str], Collection[str]]
"""text -> the normalised proper names in it (``channels.entities`` through the service)."""


@dataclass(frozen=True, slots=True)
class Claim:
    subject: str
    attribute: str
    value: str


def norm(text: str) -> str:
    """Lower case, single spaces, no leading article, no edge punctuation."""
    return patterns.ARTICLES.sub("", " ".join(text.lower().split())).strip(" '\".,")


def _subject(raw: str, me: str, names: Collection[str] | None) -> str | None:
    first = raw.split()[0].lower()
    if first in patterns.SELF and (first != "my" or len(raw.split()) == 1):
        return me
    if first == "my":  # "my sister", "my sister Ann" (then Ann)
        rest = raw.split()[1:]
        relation, named = rest[0].lower(), rest[1:]
        if len(rest) > 1 and rest[0].lower() == "best":
            relation, named = "best friend", rest[2:]
        return norm(" ".join(named)) if named else f"{me}'s {relation}"
    if raw.endswith("'s"):
        raw = raw[:-2]
    key = norm(raw)
    if not key or key in patterns.PRONOUN_NAMES:
        return None
    if names is not None and key not in names and key.split()[0] not in names:
        return None
    return key


def _value(attribute: str, raw: str) -> str:
    if attribute == "phone":
        return re.sub(r"\D", "", raw)
    value = re.sub(r"^(?:still|now|actually|definitely|probably|also|currently) ", "", norm(raw))
    return re.sub(r"\s+(?:now|today|again|too|as well|still)$", "", value)


def extract_claims(text: str, *, speaker: str, names: Collection[str] | None = None) -> list[Claim]:
    """The single-valued facts ``text`` asserts; ``speaker`` is who "I" is, ``names`` the
    proper names the entity extractor found in ``text`` (a capitalised subject must be one)."""
    me = norm(speaker) or "user"
    found: dict[tuple[str, str], Claim] = {}

    def add(subject: str | None, attribute: str, raw: str) -> None:
        value = _value(attribute, raw)
        if subject and value and len(value) <= 120:
            found.setdefault((subject, attribute), Claim(subject, attribute, value))

    for match in patterns.SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if (
            not sentence
            or sentence.endswith("?")
            or patterns.SKIP.search(sentence)
            or patterns.MAY.search(sentence)
        ):
            continue
        for attribute, pattern in patterns.SUBJECT_VERBS:
            for m in pattern.finditer(sentence):
                if attribute in ("home", "workplace") and patterns.PAST_VERB.search(m.group(0)):
                    continue
                if (
                    attribute == "workplace"
                    and norm(m.group("value")).split()[-1] in patterns.NOT_EMPLOYERS
                ):
                    continue
                add(_subject(m.group("subject"), me, names), attribute, m.group("value"))
        for fixed, pattern in patterns.HAS_PATTERNS:
            for m in pattern.finditer(sentence):
                attribute = fixed or _attribute(m.group("attribute"))
                add(_subject(m.group("subject"), me, names), attribute, m.group("value"))
        for pattern in (patterns.FAVOURITE_FIRST, patterns.PARTNER_FIRST):
            for m in pattern.finditer(sentence):
                attribute = (
                    _attribute(m.group("attribute")) if "attribute" in m.groupdict() else "partner"
                )
                add(_subject(m.group("subject"), me, names), attribute, m.group("value"))
    return list(found.values())


def _attribute(raw: str) -> str:
    name = norm(raw).replace("favorite", "favourite")
    return {
        "city": "home",
        "home city": "home",
        "employer": "workplace",
        "job": "occupation",
        "profession": "occupation",
        "job title": "occupation",
        "home address": "address",
    }.get(name, name)


def same_value(a: str, b: str) -> bool:
    """Equal, or one extends the other word by word ("new york" / "new york city")."""
    if a == b:
        return True
    x, y = a.split(), b.split()
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    return long[: len(short)] == short


@dataclass(frozen=True, slots=True)
class Stated:
    memory: Any
    """The caller's handle for the memory (an id)."""
    order: Any
    """Sort key: later is newer (e.g. ``(occurred_at, created_at)``)."""
    claim: Claim


@dataclass(frozen=True, slots=True)
class Outdated:
    """``old`` is outdated by ``new``: ``claim`` (of ``new``) replaced ``previous``."""

    new: Any
    old: Any
    claim: Claim
    previous: Claim


def outdated(statements: Sequence[Stated]) -> list[Outdated]:
    """Which memories the statements (of one scope) outdate, and by which memory (see the
    module docstring). Deterministic: ties in ``order`` keep the input order."""
    by_key: dict[tuple[str, str], list[tuple[int, Stated]]] = {}
    claims_of: dict[Any, list[Claim]] = {}
    for i, s in enumerate(statements):
        by_key.setdefault((s.claim.subject, s.claim.attribute), []).append((i, s))
        claims_of.setdefault(s.memory, []).append(s.claim)
    # per (memory, claim): the first later statement of another memory with another value
    succ: dict[tuple[Any, Claim], tuple[Any, Stated]] = {}
    for group in by_key.values():
        group.sort(key=lambda p: (p[1].order, p[0]))
        for j, (_, s) in enumerate(group):
            for _, later in group[j + 1 :]:
                if later.memory != s.memory and not same_value(later.claim.value, s.claim.value):
                    succ[(s.memory, s.claim)] = (later.order, later)
                    break
    out: list[Outdated] = []
    for memory, claims in claims_of.items():
        found = [succ.get((memory, c)) for c in claims]
        if not found or any(f is None for f in found):
            continue
        pairs = [(f, c) for f, c in zip(found, claims, strict=True) if f is not None]
        (order, last), previous = max(pairs, key=lambda p: p[0][0])
        del order
        out.append(Outdated(new=last.memory, old=memory, claim=last.claim, previous=previous))
    return out
