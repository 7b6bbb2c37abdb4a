"""Entity extraction with no model: names, capitalised spans, noun-phrase keys, speakers.

- Capitalised spans ("Caroline", "New York", "Bank of America") anywhere but the start of
  a sentence, where a capital says nothing (unless the word is capitalised elsewhere too,
  or is not an ordinary English word in our list).
- Noun-phrase keys: adjacent content words ("support group", "pottery class"), the
  cheap stand-in for a chunker, plus single content words of five letters or more.
- The speaker or author named in metadata.

Keys are normalised: lower case, possessive "'s" dropped, simple plural stripped
("paintings" -> "painting"), and a multi-word name also yields its first word as an alias
("Jon Smith" -> "jon").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from channels.text import STOP_WORDS

COMMON_STARTERS = frozenset(
    [
        "yes",
        "no",
        "yeah",
        "oh",
        "wow",
        "hey",
        "hi",
        "hello",
        "thanks",
        "thank",
        "sure",
        "well",
        "so",
        "but",
        "and",
        "or",
        "if",
        "when",
        "what",
        "where",
        "who",
        "why",
        "how",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
        "my",
        "our",
        "your",
        "their",
        "his",
        "her",
        "just",
        "also",
        "really",
        "great",
        "good",
        "nice",
        "cool",
        "awesome",
        "sounds",
        "sorry",
        "congrats",
        "congratulations",
        "definitely",
        "absolutely",
        "totally",
        "maybe",
        "perhaps",
        "anyway",
        "lol",
        "haha",
        "omg",
        "ok",
        "okay",
        "please",
        "let",
        "don't",
        "can",
        "could",
        "would",
        "should",
        "will",
        "did",
        "do",
        "does",
        "have",
        "has",
        "had",
        "been",
        "being",
        "was",
        "were",
        "is",
        "are",
        "am",
        "be",
        "today",
        "yesterday",
        "tomorrow",
        "tonight",
        "last",
        "next",
        "every",
        "all",
        "some",
        "any",
        "one",
        "two",
        "three",
        "after",
        "before",
        "since",
        "until",
        "while",
        "though",
        "although",
        "because",
        "as",
        "at",
        "in",
        "on",
        "for",
        "with",
        "about",
        "from",
        "by",
        "to",
        "of",
    ]
)
_SENTENCE = re.compile(r"(?:^|[.!?]\s+|:\s+|\n)")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d+")
WEAK = (
    STOP_WORDS
    | COMMON_STARTERS
    | {
        "thing",
        "things",
        "lot",
        "time",
        "times",
        "kind",
        "way",
        "really",
        "something",
        "anything",
        "everything",
        "stuff",
        "pretty",
        "going",
        "gonna",
        "feel",
        "felt",
        "think",
        "know",
        "like",
        "love",
        "want",
        "make",
        "made",
        "get",
        "got",
        "see",
        "look",
    }
)


@dataclass(frozen=True, slots=True)
class Entity:
    key: str
    surface: str
    kind: str  # "speaker" | "proper" | "phrase" | "word"


@lru_cache(maxsize=16_384)
def normalize(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'-")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("es") and w[-3] in "sxz":
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, sentence_initial) pairs."""
    starts = {m.end() for m in _SENTENCE.finditer(text)}
    return [(m.group(0), m.start() in starts) for m in _TOKEN.finditer(text)]


def extract_entities(text: str, metadata: Mapping[str, Any] | None = None) -> list[Entity]:
    found: dict[str, Entity] = {}

    def add(key: str, surface: str, kind: str) -> None:
        if key and key not in found and key not in WEAK:
            found[key] = Entity(key, surface, kind)

    for field in ("speaker", "author"):
        value = (metadata or {}).get(field)
        if isinstance(value, str) and value.strip():
            add(normalize(value.strip()), value.strip(), "speaker")
    tokens = _tokens(text)
    span: list[str] = []
    for i, (token, initial) in enumerate(tokens + [("", True)]):
        capital = token[:1].isupper() and token.lower() not in STOP_WORDS
        if capital and initial and token.lower() in COMMON_STARTERS:
            capital = False
        if capital and not (initial and span):
            span.append(token)
            continue
        if span:
            surface = " ".join(span)
            add(" ".join(normalize(w) for w in span), surface, "proper")
            if len(span) > 1:
                add(normalize(span[0]), span[0], "proper")
            span = []
        if capital:
            span.append(token)
        del i
    content = [normalize(t) for t, _ in tokens if t.lower() not in WEAK and not t.isdigit()]
    for left, right in zip(content, content[1:], strict=False):
        if left not in WEAK and right not in WEAK and len(left) > 2 and len(right) > 2:
            add(f"{left} {right}", f"{left} {right}", "phrase")
    for word in content:
        if len(word) >= 5:
            add(word, word, "word")
    return list(found.values())


def query_entities(text: str) -> list[str]:
    """Normalised entity keys a query names (used to adapt fusion weights)."""
    return [e.key for e in extract_entities(text) if e.kind == "proper"]
