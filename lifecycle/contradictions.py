"""Contradiction flags, LLM-free: the same entity and attribute stated with different values.

Claims are read with a few conservative patterns (false negatives are cheap, false flags
are not):

- ``my <attribute> is <value>``                  entity = the speaker (metadata) or the user
- ``<Name>'s <attribute> is <value>``            entity = Name
  (attributes that hold one value at a time: favourite X, name, job, birthday, age, ...)
- ``I live in / work at / moved to <Place>``     entity = the speaker, attribute = where they live / work

Values are compared after lower-casing and dropping articles; two memories of one scope
whose claims share entity and attribute but not value contradict each other. The newest one
is flagged as contradicting each older one (newest first), and nothing is changed or hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VALUE = r"(?P<value>[\w][\w' -]{0,40}?)(?=[.,;!?]|\s+(?:and|but|because|since|now)\b|$)"
# Only attributes that hold one value at a time ("my dog is happy" is a state, not a fact).
_ATTRIBUTE = (
    r"(?P<attribute>favou?rite [a-z]+(?: [a-z]+)?|(?:first |last |middle |nick)?name|job|"
    r"occupation|profession|birthday|age|address|email(?: address)?|phone number|hometown|"
    r"employer|job title|title|salary|nationality|religion|major|blood type|zip code)"
)
_PATTERNS = (
    re.compile(r"\b[Mm]y " + _ATTRIBUTE + r" (?:is|was) (?:now |actually )?" + _VALUE),
    re.compile(
        r"\b(?P<entity>[A-Z][a-z]+)'s " + _ATTRIBUTE + r" (?:is|was) (?:now |actually )?" + _VALUE
    ),
)
_PLACE = re.compile(
    r"\bI(?: now|'ve| have)? (?P<verb>live|lived|work|worked|moved|relocated) (?:in|at|to|for) "
    r"(?P<value>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,3})"
)
_ARTICLES = re.compile(r"^(?:the|a|an|my|our)\s+", re.I)
_VERB_ATTRIBUTE = {
    "live": "home",
    "lived": "home",
    "moved": "home",
    "relocated": "home",
    "work": "workplace",
    "worked": "workplace",
}


@dataclass(frozen=True, slots=True)
class Claim:
    entity: str
    attribute: str
    value: str


def _norm(text: str) -> str:
    return _ARTICLES.sub("", " ".join(text.lower().split())).strip(" '")


def extract_claims(text: str, *, speaker: str) -> list[Claim]:
    me = _norm(speaker) or "user"
    claims: list[Claim] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            entity = m.groupdict().get("entity") or me
            value = _norm(m.group("value"))
            if value:
                claims.append(Claim(_norm(entity), _norm(m.group("attribute")), value))
    for m in _PLACE.finditer(text):
        claims.append(Claim(me, _VERB_ATTRIBUTE[m.group("verb").lower()], _norm(m.group("value"))))
    return claims


@dataclass(frozen=True, slots=True)
class Stated:
    memory: object
    """The caller's handle for the memory (an id)."""
    order: object
    """Sort key: later is newer (e.g. ``(occurred_at, created_at)``)."""
    claim: Claim


def contradictions(statements: list[Stated]) -> list[tuple[Stated, Stated]]:
    """(newer, older) pairs that state different values for one entity and attribute."""
    by_key: dict[tuple[str, str], list[Stated]] = {}
    for s in statements:
        by_key.setdefault((s.claim.entity, s.claim.attribute), []).append(s)
    pairs: list[tuple[Stated, Stated]] = []
    for group in by_key.values():
        if len({s.claim.value for s in group}) < 2:
            continue
        group.sort(key=lambda s: s.order, reverse=True)  # type: ignore[arg-type, return-value]
        newest = group[0]
        for older in group[1:]:
            if older.claim.value != newest.claim.value and older.memory != newest.memory:
                pairs.append((newest, older))
    return pairs
