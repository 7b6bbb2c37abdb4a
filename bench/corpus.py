"""Realistic conversation turns for scale runs (not templates).

A word-trigram model of conversational English generates the turns: trained on the dialogue
turns of a file you name (``--seed-text``: a LoCoMo-style JSON file, used only as a source of
word statistics, never copied), or on a small built-in chat sample. Turn lengths follow the
seed's length distribution; turns are grouped into sessions of 10-40 turns between two
speakers, sessions a few days apart, turns half a minute apart.

Vectors: the first 100k memory texts are embedded for real with the served MiniLM (int8),
cached under ``~/.cache/mnemonix-bench``; embedding a million would take hours here, so past
those each memory takes a real vector plus small Gaussian noise (cosine ~0.99).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

BUILT_IN = """
hey how was your weekend ? it was great , we went hiking up the hill behind the lake and
the view was amazing . oh nice , i have been meaning to go there . did you take the dog ?
yes he loved it , he ran around the whole time . i started a new job last month at the
hospital , it is tiring but i like my team . that sounds hard but rewarding . my sister is
visiting next week so i am cleaning the whole house . i finally finished that book you
recommended , the ending surprised me . we should grab coffee on friday after work . i
signed up for a pottery class , my first bowl was a disaster haha . the kids have a
school play in june and i am sewing their costumes . i am thinking about moving to a
bigger apartment closer to the city . my mom is recovering well from the surgery , thanks
for asking . we adopted a cat from the shelter , her name is luna . i have been training
for the marathon in october , running five days a week . did you watch the game last
night ? i can not believe they lost in the last minute . i am learning to play the guitar ,
my fingers hurt so much . we are planning a trip to japan next spring . i baked banana
bread this morning and it came out perfect . work has been crazy with the new project
deadline . i volunteered at the food bank on saturday , it felt really good .
"""
NAMES = [
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivan", "Jade", "Kai",
    "Lena", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    text: str
    occurred_at: datetime
    session: int


def _seed_turns(path: Path | None) -> list[str]:
    if path is None:
        return [s.strip() for s in BUILT_IN.replace("\n", " ").split(" . ") if s.strip()]
    data = json.loads(path.read_text())
    texts: list[str] = []
    for sample in data if isinstance(data, list) else [data]:
        conversation = sample.get("conversation", {})
        for key, value in conversation.items():
            if key.startswith("session_") and isinstance(value, list):
                texts += [t.get("text", "") for t in value if isinstance(t, dict)]
    return [t for t in texts if t]


class TrigramModel:
    def __init__(self, texts: list[str]) -> None:
        self.next: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.lengths = [len(t.split()) for t in texts] or [12]
        for text in texts:
            words = ["<s>", "<s>", *re.findall(r"[\w'’]+|[.,!?]", text), "</s>"]
            for a, b, c in zip(words, words[1:], words[2:], strict=False):
                self.next[(a, b)].append(c)

    def turn(self, rng: random.Random) -> str:
        target = max(3, min(80, rng.choice(self.lengths)))
        a, b, out = "<s>", "<s>", []
        while len(out) < target * 2:
            options = self.next.get((a, b))
            if not options:
                break
            c = rng.choice(options)
            if c == "</s>":
                if len(out) >= target // 2:
                    break
                a, b = "<s>", "<s>"
                continue
            out.append(c)
            a, b = b, c
        text = " ".join(out)
        return re.sub(r" ([.,!?])", r"\1", text) or "ok"


def turns(n: int, *, seed: int = 7, seed_text: Path | None = None) -> Iterator[Turn]:
    """``n`` turns of one user's year(s) of chat, oldest first."""
    rng = random.Random(seed)
    model = TrigramModel(_seed_turns(seed_text))
    at = datetime(2023, 1, 1, 9, tzinfo=UTC)
    session, left, pair = 0, 0, ("", "")
    for i in range(n):
        if left == 0:
            session += 1
            left = rng.randint(10, 40)
            pair = tuple(rng.sample(NAMES, 2))  # type: ignore[assignment]
            at += timedelta(hours=rng.randint(20, 120))
        left -= 1
        at += timedelta(seconds=rng.randint(15, 90))
        yield Turn(pair[i % 2], model.turn(rng), at, session)


def noisy_vectors(pool: np.ndarray, n: int, *, seed: int = 11, noise: float = 0.45) -> np.ndarray:
    """``n`` unit vectors, each a pool vector plus Gaussian noise of norm ``noise``."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, pool.shape[1]), dtype=np.float32)
    for start in range(0, n, 65_536):
        stop = min(n, start + 65_536)
        base = pool[rng.integers(0, pool.shape[0], stop - start)]
        jitter = rng.standard_normal(base.shape).astype(np.float32)
        jitter *= noise / np.sqrt(pool.shape[1])
        block = base + jitter
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def contents(n: int, seed_text: Path | None) -> Iterator[tuple[Turn, str]]:
    """The turns and the memory text stored for each (``"<speaker>: <text>"``)."""
    for turn in turns(n, seed_text=seed_text):
        yield turn, f"{turn.speaker}: {turn.text}"


def turn_vectors(n: int, *, real: int, seed_text: Path | None = None) -> np.ndarray:
    """Vectors for the first ``n`` memories: MiniLM embeddings of the first ``real`` memory
    texts themselves (cached), and past those, copies of them with small Gaussian noise
    (norm 0.15, cosine ~0.99) so that a million memories keep real embeddings' geometry."""
    cache = Path.home() / ".cache" / "mnemonix-bench" / f"turns-{real}.npy"
    if not cache.exists():
        real = min(real, n)
        cache = cache.with_name(f"turns-{real}.npy")
    if cache.exists():
        base = np.load(cache)
    else:
        from channels.embedder import build_embedder

        embedder = build_embedder("minilm", model_path=None, threads=None, precision="int8")
        texts = [text for _, text in contents(real, seed_text)]
        base = np.vstack([embedder.embed(texts[i : i + 256]) for i in range(0, real, 256)])
        base = base.astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, base)
    if n <= base.shape[0]:
        return base[:n]  # type: ignore[no-any-return]
    return np.vstack([base, noisy_vectors(base, n - base.shape[0], noise=0.15)])
