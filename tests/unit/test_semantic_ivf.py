"""The semantic channel past ``IVF_MIN``: an inverted file over SQ8 codes, still searched
exhaustively for small scopes, and kept in step through writes and re-training."""

from __future__ import annotations

import numpy as np
import pytest

import channels.semantic as semantic
from channels.base import Doc, Query
from channels.semantic import SemanticChannel
from tests.unit.test_semantic_channel import NOW, _clustered, _docs, _recall


@pytest.fixture
def small_ivf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "IVF_MIN", 2000)
    monkeypatch.setattr(semantic, "EXACT_SCOPE", 300)


def test_switches_to_ivf_and_keeps_recall(small_ivf: None) -> None:
    x = _clustered(6000, 384, 1)
    queries = _clustered(40, 384, 2)
    channel = SemanticChannel()
    channel.upsert(_docs(x[:1500]))
    assert "ivf" not in channel.stats().extra
    channel.upsert(_docs(x)[1500:])
    assert channel.stats().extra["ivf"]["trained_at"] >= 2000
    assert channel.stats().documents == 6000
    # near-random vectors are IVF's worst case; bench/scale.py measures MiniLM-like ones
    assert _recall(channel, x, queries) >= 0.75


def test_a_small_scope_is_exact_inside_an_ivf(small_ivf: None) -> None:
    x = _clustered(6000, 384, 3)
    channel = SemanticChannel()
    channel.upsert(_docs(x))
    assert "ivf" in channel.stats().extra
    allowed = np.arange(0, 6000, 29, dtype=np.int64)  # 207 keys spread over every cell
    assert _recall(channel, x, _clustered(30, 384, 4), allowed) >= 0.97  # SQ8 near-ties only


def test_large_scope_uses_a_bitmap_and_writes_stay_in_step(
    small_ivf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic, "BATCH_SELECTOR_MAX", 100)
    x = _clustered(5000, 384, 5)
    channel = SemanticChannel()
    channel.upsert(_docs(x))
    allowed = np.arange(0, 5000, 2, dtype=np.int64)
    hits = channel.search(Query("q", NOW, limit=10, vector=x[10], allowed=allowed))
    assert hits[0].key == 10 and all(h.key % 2 == 0 for h in hits)
    channel.remove([10])
    hits = channel.search(Query("q", NOW, limit=10, vector=x[10], allowed=allowed))
    assert 10 not in [h.key for h in hits]
    channel.upsert(_docs(x[:11])[10:])  # back again, then re-trained on growth
    channel.upsert(
        [
            Doc(key=5000 + i, content="", occurred_at=NOW, vector=v)
            for i, v in enumerate(_clustered(16000, 384, 6))
        ]
    )
    assert channel.stats().extra["ivf"]["trained_at"] >= 4 * 2000
    assert channel.search(Query("q", NOW, limit=1, vector=x[10]))[0].key == 10
    assert channel.stats().documents == 21000
