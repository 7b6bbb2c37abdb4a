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

Names = Callable[[str], Collection[str]]
"""text -> the normalised proper names in it (``channels.entities`` through the service)."""

_NAME = r"[A-Z][\w'&.-]*(?: (?:of |de |van |von |la |le )?[A-Z][\w'&.-]*){0,3}"
_PLACE = r"(?P<value>(?:the )?" + _NAME + r")"
_RELATIVES = (
    r"(?:sister|brother|mom|mum|mother|dad|father|son|daughter|wife|husband|partner|"
    r"boyfriend|girlfriend|fianc[eé]e?|friend|best friend|boss|cousin|aunt|uncle|roommate|"
    r"grandma|grandmother|grandpa|grandfather|neighbou?r)"
)
_PARTNER = r"(?:partner|boyfriend|girlfriend|wife|husband|fianc[eé]e?|spouse|significant other)"
_SUBJECT = r"(?P<subject>I|We|we|[Mm]y " + _RELATIVES + r"(?: " + _NAME + r")?|" + _NAME + r")"
_ADV = r"(?:(?:now|currently|just|recently|finally|actually|officially|also|still) )*"
_THIRD = r"(?:s|es)?"

_BE = r"(?:'m |'re |'s | am | are | is | )"
_HAVE = r"(?:'ve |'s | have | has | was | )"
# (attribute, pattern after the subject) - each pattern names its value group ``value``
_VERB_PATTERNS: list[tuple[str, str]] = [
    ("home", _BE + _ADV + r"(?:lives?|living|resides?|residing|based) in " + _PLACE),
    (
        "home",
        _HAVE + _ADV + r"(?:moved|relocated) (?:back |over |out )?(?:here )?to " + _PLACE,
    ),
    ("workplace", _BE + _ADV + r"(?:works?|working) (?:at|for) " + _PLACE),
    (
        "workplace",
        _HAVE
        + _ADV
        + r"(?:started (?:working |a new job |my new job |a job )?(?:at|for|with)|joined|"
        r"got (?:a |the )?(?:new )?job (?:at|with)|landed (?:a |the )?(?:new )?job (?:at|with)|"
        r"accepted (?:a |an |the )?(?:new )?(?:job|offer|position) (?:at|with|from)|"
        r"got hired (?:at|by)|hired (?:at|by)) " + _PLACE,
    ),
    (
        "occupation",
        _BE
        + _ADV
        + r"(?:works?|working) as (?:a |an |the )?(?P<value>[a-z][a-z-]*(?: [a-z][a-z-]*){0,3}?)"
        r"(?=[.,;!]| at | for | in | and | but |$)",
    ),
    (
        "partner",
        _BE
        + _ADV
        + r"(?:dating|engaged to|married to|in a relationship with|going out with) "
        + r"(?P<value>"
        + _NAME
        + r")",
    ),
    (
        "partner",
        _HAVE
        + _ADV
        + r"(?:married|started dating|got engaged to|got married to) (?P<value>"
        + _NAME
        + r")",
    ),
    (
        "age",
        r"(?:'m |'re | am | is | are )"
        + _ADV
        + r"(?P<value>\d{1,3})(?: years old| yrs old)?(?: now)?(?=[.,;!]|$)",
    ),
    ("age", _HAVE + _ADV + r"turned (?P<value>\d{1,3})(?: years old)?(?=[.,;!]| today|$)"),
]
_NOT_EMPLOYERS = {
    "club",
    "team",
    "group",
    "gym",
    "class",
    "choir",
    "band",
    "league",
    "society",
    "community",
    "church",
    "course",
    "program",
    "meetup",
    "party",
    "trip",
}
_POSSESSIVE = r"(?P<subject>[Mm]y|" + _NAME + r"'s)"
_EMAIL = r"(?P<value>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
_PHONE = r"(?P<value>\+?\d[\d ().-]{5,}\d)"
_GENERIC_ATTRIBUTES = (
    r"(?P<attribute>(?:first |last |middle |nick)?name|job|occupation|profession|job title|"
    r"birthday|age|address|home address|hometown|employer|salary|nationality|religion|major|"
    r"blood type|zip code|city|home city)"
)
_TAIL = r"(?P<value>[\w][\w' -]{0,40}?)(?=[.,;!]|\s+(?:and|but|because|since|now|so)\b|$)"
_HAS_PATTERNS: list[tuple[str | None, re.Pattern[str]]] = [
    (
        "email",
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new |current |work |personal )?e-?mail(?: address)?"
            r" (?:is|has changed to|changed to) (?:now )?" + _EMAIL
        ),
    ),
    (
        "phone",
        re.compile(
            r"\b"
            + _POSSESSIVE
            + r" (?:new |current |cell |mobile |work )?(?:phone |cell |mobile )?"
            r"(?:number|phone) (?:is|has changed to|changed to) (?:now )?" + _PHONE
        ),
    ),
    (
        "partner",
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new )?" + _PARTNER + r"(?:'s name)? is (?:now )?"
            r"(?P<value>" + _NAME + r")(?=[.,;!]| and | but |$)"
        ),
    ),
    (
        None,  # "my favourite colour is green": the attribute is the named favourite
        re.compile(
            r"\b" + _POSSESSIVE + r" (?:new |current |all-time )?(?P<attribute>favou?rite "
            r"[a-z]+(?: [a-z]+)?) (?:is|has become|is now) (?:now |definitely |probably )?" + _TAIL
        ),
    ),
    (
        None,
        re.compile(
            r"\b"
            + _POSSESSIVE
            + r" (?:new |current )?"
            + _GENERIC_ATTRIBUTES
            + r" is (?:now )?"
            + _TAIL
        ),
    ),
]
_FAVOURITE_FIRST = re.compile(
    r"(?:^|[.!;] )(?P<value>[A-Z][\w' -]{0,40}?) (?:is|are) (?:now |definitely )?"
    r"(?P<subject>my|" + _NAME + r"'s) (?:new |all-time )?(?P<attribute>favou?rite [a-z]+)\b"
)
_PARTNER_FIRST = re.compile(
    r"(?:^|[.!;] )(?P<value>" + _NAME + r") is (?:now )?(?P<subject>my|" + _NAME + r"'s) "
    r"(?:new )?" + _PARTNER + r"\b"
)
_SUBJECT_VERBS = [
    (attribute, re.compile(r"(?:^|(?<=[\s,;(]))" + _SUBJECT + tail))
    for attribute, tail in _VERB_PATTERNS
]

_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+[.!?]*")
_SKIP = re.compile(
    r"\b(?:not|n't|never|no longer|used to|would|wouldn't|could|might|should|if|"
    r"wish|wished|hope|hoped|hoping|want|wanted|wanna|dream|dreamed|dreaming|plan|planning|"
    r"planned|going to|gonna|will|'ll|next (?:week|month|year)|someday|one day|soon|"
    r"thinking (?:about|of)|considering|love to|like to|'d|maybe|perhaps|unless|when I was|"
    r"back then|until|pretend|imagine|whether|seeing)\b",
    re.I,
)
_MAY = re.compile(r"\bmay\b")  # the verb, not the month
_PAST_VERB = re.compile(r"\b(?:lived|worked|resided|was living|was working|were living)\b", re.I)
_ARTICLES = re.compile(r"^(?:the|a|an|my|our)\s+", re.I)
_SELF = {"i", "we", "my"}
_PRONOUN_NAMES = {
    "he",
    "she",
    "they",
    "it",
    "you",
    "this",
    "that",
    "there",
    "here",
    "someone",
    "everyone",
    "nobody",
    "somebody",
}


@dataclass(frozen=True, slots=True)
class Claim:
    subject: str
    attribute: str
    value: str


def norm(text: str) -> str:
    """Lower case, single spaces, no leading article, no edge punctuation."""
    return _ARTICLES.sub("", " ".join(text.lower().split())).strip(" '\".,")


def _subject(raw: str, me: str, names: Collection[str] | None) -> str | None:
    first = raw.split()[0].lower()
    if first in _SELF and (first != "my" or len(raw.split()) == 1):
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
    if not key or key in _PRONOUN_NAMES:
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

    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if (
            not sentence
            or sentence.endswith("?")
            or _SKIP.search(sentence)
            or _MAY.search(sentence)
        ):
            continue
        for attribute, pattern in _SUBJECT_VERBS:
            for m in pattern.finditer(sentence):
                if attribute in ("home", "workplace") and _PAST_VERB.search(m.group(0)):
                    continue
                if (
                    attribute == "workplace"
                    and norm(m.group("value")).split()[-1] in _NOT_EMPLOYERS
                ):
                    continue
                add(_subject(m.group("subject"), me, names), attribute, m.group("value"))
        for fixed, pattern in _HAS_PATTERNS:
            for m in pattern.finditer(sentence):
                attribute = fixed or _attribute(m.group("attribute"))
                add(_subject(m.group("subject"), me, names), attribute, m.group("value"))
        for pattern in (_FAVOURITE_FIRST, _PARTNER_FIRST):
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
