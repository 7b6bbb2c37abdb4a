"""The semantic channel against brute-force numpy on generated data."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from channels.base import Doc, Query
from channels.semantic import SemanticChannel

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _clustered(n: int, d: int, seed: int) -> np.ndarray:
    """Unit vectors with cluster structure, like sentence embeddings."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((50, d))
    x = centers[rng.integers(0, 50, n)] + 0.8 * rng.standard_normal((n, d))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _docs(x: np.ndarray, tier: str = "hot") -> list[Doc]:
    return [Doc(key=i, content="", occurred_at=NOW, vector=v, tier=tier) for i, v in enumerate(x)]


def _recall(channel: SemanticChannel, x: np.ndarray, queries: np.ndarray, allowed=None) -> float:  # type: ignore[no-untyped-def]
    keys = np.arange(len(x)) if allowed is None else allowed
    total = 0.0
    for q in queries:
        exact = keys[np.argsort(-(x[keys] @ q), kind="stable")[:10]]
        got = [h.key for h in channel.search(Query("q", NOW, limit=10, vector=q, allowed=allowed))]
        total += len(set(got) & set(exact.tolist())) / 10
    return total / len(queries)


def test_recall_at_10_against_brute_force() -> None:
    x = _clustered(5000, 384, 1)
    queries = _clustered(50, 384, 2)
    channel = SemanticChannel(dimension=384)
    channel.rebuild(_docs(x))
    assert _recall(channel, x, queries) >= 0.95


def test_tiny_scope_gets_its_true_top_k() -> None:
    x = _clustered(5000, 384, 3)
    channel = SemanticChannel(dimension=384)
    channel.upsert(_docs(x))
    allowed = np.sort(np.random.default_rng(4).choice(5000, 12, replace=False)).astype(np.int64)
    queries = _clustered(20, 384, 5)
    for q in queries:
        hits = channel.search(Query("q", NOW, limit=10, vector=q, allowed=allowed))
        assert len(hits) == 10
        assert {h.key for h in hits} <= set(allowed.tolist())
    assert _recall(channel, x, queries, allowed) >= 0.95


def test_upsert_replaces_and_remove_forgets() -> None:
    x = _clustered(100, 64, 6)
    channel = SemanticChannel(dimension=64)
    channel.upsert(_docs(x))
    q = x[7]
    assert channel.search(Query("q", NOW, limit=1, vector=q))[0].key == 7
    channel.upsert([Doc(key=7, content="", occurred_at=NOW, vector=x[8])])
    assert channel.stats().documents == 100
    channel.remove([7])
    assert all(h.key != 7 for h in channel.search(Query("q", NOW, limit=100, vector=q)))
    assert channel.stats().documents == 99


def test_coarse_copy_never_outranks_an_equal_fine_one() -> None:
    x = _clustered(400, 384, 7)
    fine = _docs(x[:200])
    coarse = [
        Doc(key=200 + d.key, content="", occurred_at=NOW, vector=d.vector, tier=tier)
        for d, tier in zip(fine, ["cold", "archived"] * 100, strict=True)
    ]
    channel = SemanticChannel(dimension=384)
    channel.upsert(fine + coarse)
    for q in _clustered(30, 384, 8):
        ranks = {
            h.key: i for i, h in enumerate(channel.search(Query("q", NOW, limit=400, vector=q)))
        }
        for key in range(200):
            assert ranks[key] < ranks[200 + key]


def _stored_4bit(x: np.ndarray, offset: int = 0):  # type: ignore[no-untyped-def]
    """A rescore callback like the engine's: the stored (4-bit) code of each key, decoded."""
    from storage.quantization import decode, encode

    def rescore(keys):  # type: ignore[no-untyped-def]
        return {k: (decode(encode(x[k - offset], 4), x.shape[1]), 4) for k in keys}

    return rescore


def test_archived_shortlist_rescored_with_stored_codes_recovers_recall() -> None:
    x = _clustered(3000, 384, 11)
    rng = np.random.default_rng(12)
    queries = x[rng.integers(0, 3000, 40)] + 0.05 * rng.standard_normal((40, 384))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    channel = SemanticChannel(dimension=384)
    channel.upsert(_docs(x, tier="archived"))
    binary_only = _recall(channel, x, queries)
    channel.rescore = _stored_4bit(x)
    rescored = _recall(channel, x, queries)
    assert rescored >= 0.8 and rescored > binary_only + 0.2
    hit = channel.search(Query("q", NOW, limit=1, vector=queries[0]))[0]
    assert hit.why["precision_bits"] == 4  # the estimate came from the stored code


def test_rescored_coarse_copy_never_outranks_an_equal_fine_one() -> None:
    x = _clustered(300, 384, 13)
    fine = _docs(x[:150])
    archived = [
        Doc(key=150 + d.key, content="", occurred_at=NOW, vector=d.vector, tier="archived")
        for d in fine
    ]
    channel = SemanticChannel(dimension=384)
    channel.upsert(fine + archived)
    channel.rescore = _stored_4bit(x[:150], offset=150)
    for q in _clustered(30, 384, 14):
        ranks = {
            h.key: i for i, h in enumerate(channel.search(Query("q", NOW, limit=300, vector=q)))
        }
        for key in range(150):
            assert ranks[key] < ranks[150 + key]
