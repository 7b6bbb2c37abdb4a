"""Tokenisation for conversational English, shared by the keyword channel and its siblings.

``tokenize(text)``:

1. lowercase; strip accents (NFKD, combining marks dropped) when the text is not ASCII;
2. words are runs of letters and digits, optionally joined by apostrophes (``'``, ``’``,
   ``‘``, ``ʼ``, ``＇``); every other character (unicode punctuation, symbols, ``_``,
   hyphens) separates words, so ``well-known`` gives two words and ``3.5`` gives ``3`` and
   ``5``; numbers are kept;
3. contractions and possessives: a word that is an English stop word as written
   (``I'm``, ``don't``, ``she's``) is dropped; otherwise ``'s``, ``n't``, ``'re``, ``'ve``,
   ``'ll``, ``'d``, ``'m`` suffixes are cut (``Melanie's`` -> ``melanie``, ``Jon'll`` ->
   ``jon``, ``needn't`` -> ``need``) and inner apostrophes removed (``o'clock`` ->
   ``oclock``); a word that becomes a stop word is dropped;
4. Snowball English stemming (PyStemmer, Porter2): ``paintings`` -> ``paint``,
   ``Melanie`` -> ``melani``.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer

_STOP_WORDS = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves also just really oh yeah hey hi okay ok s t d ll re ve m will
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
"""English stop words (the NLTK/Snowball list plus conversational fillers), apostrophes
written as ``'``."""

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*", re.ASCII)  # same words, 2x faster
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "＇": "'"})
_CLITICS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m")
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe; channels are searched from worker threads.
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def _words(text: str) -> list[str]:
    text = text.lower()
    if text.isascii():
        return _ASCII_WORD.findall(text)
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_APOSTROPHES)
    return _WORD.findall("".join(c for c in text if not unicodedata.combining(c)))


def _word(word: str) -> str | None:
    if word in STOP_WORDS:
        return None
    if "'" in word:
        for clitic in _CLITICS:
            if word.endswith(clitic):
                word = word[: -len(clitic)]
                break
        word = word.replace("'", "")
        if not word or word in STOP_WORDS:
            return None
    return word


def tokenize(text: str) -> list[str]:
    """Index terms of ``text``, in order, repeats kept (see the module docstring)."""
    words = [w for w in map(_word, _words(text)) if w is not None]
    return list(_stemmer().stemWords(words))
