"""Embedders: the hashing test double (fast) and the real MiniLM against sentence-transformers
(``-m model``; loads the bundled model, ~15 s the first time, which exports the ONNX file)."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from channels.embedder import (
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    _batches,
    build_embedder,
    default_model_path,
)

PARAPHRASES = [
    ("Alice is allergic to peanuts.", "Alice has a peanut allergy."),
    ("The meeting was moved to Thursday afternoon.", "We rescheduled the meeting for Thursday PM."),
    ("Bob bought a new electric car last week.", "Last week Bob purchased a new EV."),
    ("My flight to Lisbon was cancelled.", "The airline cancelled my plane trip to Lisbon."),
    (
        "She prefers green tea over coffee.",
        "Green tea is her favourite, she'd rather not drink coffee.",
    ),
    ("The server crashed because the disk was full.", "A full disk caused the server to go down."),
    ("Carol's dog is named Biscuit.", "Biscuit is the name of Carol's dog."),
    (
        "I am learning Japanese before my trip to Tokyo.",
        "Before travelling to Tokyo I'm studying Japanese.",
    ),
    ("The rent is due on the first of every month.", "Rent must be paid on the 1st of each month."),
    ("He hates loud jazz concerts.", "Noisy jazz gigs are something he really dislikes."),
]
OTHERS = [
    "",
    "   ",
    "ok",
    "Quarterly revenue grew 12% year over year, driven by subscriptions.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The Treaty of Westphalia was signed in 1648.",
    "Remind me to water the tomatoes at 7 pm.",
    "Café Müller serves crêpes — naïve façade, jalapeño dip! 🙂",
    "東京は日本の首都です。",
    "def add(a, b): return a + b  # python snippet",
    "user_id=42 email=jane.doe@example.com phone=+1-555-0100",
    "Why is the sky blue? Rayleigh scattering of sunlight by air molecules.",
    "The patient reported mild headaches after switching medication.",
    "Our landlord will replace the broken boiler next Tuesday morning.",
    "The basketball team won the championship in overtime.",
    "Set the thermostat to 21 degrees when nobody is home.",
    "The novel follows two sisters across three generations in rural Ireland.",
    "Grandma's apple pie recipe uses cinnamon, nutmeg and a pinch of salt.",
    "THE PROJECT DEADLINE IS NEXT FRIDAY!!!",
    "a b c d e f g",
    "The quick brown fox jumps over the lazy dog " * 40,  # > 256 tokens: truncated
    "Kubernetes pods restart when the liveness probe fails three times in a row.",
    "She moved from Berlin to Montreal in 2019 for a research position.",
    "Turn left at the second traffic light, then continue for 300 metres.",
    "The invoice #A-2291 was paid twice by mistake; request a refund.",
    "Volcanic ash grounded flights across northern Europe for a week.",
    "I don't like horror movies, they give me nightmares.",
    "Sparkling water, no ice, and a slice of lemon please.",
    "The committee postponed the vote until more data is available.",
    "Her daughter starts kindergarten in September.",
]
TEXTS = [t for pair in PARAPHRASES for t in pair] + OTHERS


# --- HashEmbedder -------------------------------------------------------------------------


def test_hash_embedder_shape_norm_and_protocol() -> None:
    embedder = HashEmbedder()
    vectors = embedder.embed(TEXTS)
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert HashEmbedder(dimension=64).embed(["x"]).shape == (1, 64)
    assert embedder.embed([]).shape == (0, 384)


def test_hash_embedder_is_deterministic_and_row_independent() -> None:
    a = HashEmbedder().embed(TEXTS)
    b = HashEmbedder().embed(list(reversed(TEXTS)))[::-1]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[3], HashEmbedder().embed([TEXTS[3]])[0])


def test_hash_embedder_matches_hand_computed_vector() -> None:
    # "Dogs!" has one word feature (stem "dog") and the trigrams of "<dogs>".
    def bucket(feature: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        return (h >> 1) % 32, 1.0 if h & 1 else -1.0

    expected = np.zeros(32)
    for feature, weight in [("w:dog", 1.0)] + [
        ("t:" + g, 0.25) for g in ("<do", "dog", "ogs", "gs>")
    ]:
        index, sign = bucket(feature)
        expected[index] += sign * weight
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(HashEmbedder(dimension=32).embed(["Dogs!"])[0], expected, rtol=1e-6)


def test_hash_embedder_similar_texts_score_higher() -> None:
    embedder = HashEmbedder()
    anchor, near, far = embedder.embed(
        [
            "Alice is allergic to peanuts",
            "alice's peanut allergy",
            "The server crashed because the disk was full",
        ]
    )
    assert float(anchor @ near) > 0.5
    assert abs(float(anchor @ far)) < 0.2
    # Inflections share a stem: "running shoes" is closer to "run shoe" than to "red apples".
    run, shoe, apple = embedder.embed(["running shoes", "run shoe", "red apples"])
    assert float(run @ shoe) > float(run @ apple) + 0.3


def test_build_embedder_kinds() -> None:
    assert isinstance(build_embedder("hash", model_path=None, threads=None), HashEmbedder)
    with pytest.raises(ValueError, match="unknown embedder"):
        build_embedder("word2vec", model_path=None, threads=None)


def test_batches_cover_every_row_once_within_the_token_budget() -> None:
    lengths = np.array([5, 300, 17, 17, 2, 64, 64, 9, 128, 33] * 7, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches = list(_batches(order, lengths, 256))
    np.testing.assert_array_equal(np.concatenate(batches), order)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * lengths[batch[0]] <= 256
        assert lengths[batch[0]] == lengths[batch].max()


def test_default_model_path_holds_the_model() -> None:
    path = default_model_path()
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()


# --- the real model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    return np.asarray(model.encode(TEXTS, batch_size=16, normalize_embeddings=True))


def _agreement(vectors: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    cosines = np.sum(vectors * reference, axis=1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    )
    return float(cosines.mean()), float(cosines.min())


@pytest.mark.model
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_minilm_matches_sentence_transformers(backend: str, reference: np.ndarray) -> None:
    embedder = MiniLMEmbedder(backend=backend)  # type: ignore[arg-type]
    assert embedder.backend == backend
    assert (embedder.model_name, embedder.dimension) == ("all-MiniLM-L6-v2", 384)
    batched = embedder.embed(TEXTS)
    assert batched.shape == (len(TEXTS), 384) and batched.dtype == np.float32
    mean, worst = _agreement(batched, reference)
    assert mean >= 0.9999 and worst >= 0.999, (mean, worst)
    singles = np.vstack([embedder.embed([t]) for t in TEXTS[:12]])
    assert _agreement(singles, reference[:12])[1] >= 0.999
    again = embedder.embed([TEXTS[0]])  # served from the cache, must be a fresh array
    again[0, 0] += 1.0
    np.testing.assert_array_equal(embedder.embed([TEXTS[0]]), singles[:1])


@pytest.mark.model
def test_minilm_ranks_paraphrases_first_and_is_thread_safe() -> None:
    embedder = MiniLMEmbedder()
    vectors = embedder.embed(TEXTS)
    similarity = vectors @ vectors.T
    for i in range(len(PARAPHRASES)):
        a, b = 2 * i, 2 * i + 1
        others = [j for j in range(len(TEXTS)) if j not in (a, b)]
        assert similarity[a, b] > similarity[a, others].max(), PARAPHRASES[i]
    chunks = [TEXTS[i::4] for i in range(4)] + [[t] for t in TEXTS[:8]]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(embedder.embed, chunks))
    for chunk, result in zip(chunks, results, strict=True):
        expected = vectors[[TEXTS.index(t) for t in chunk]]
        np.testing.assert_allclose(result, expected, atol=2e-5)
