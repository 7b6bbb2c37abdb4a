"""Consolidation and contradiction rules (pure functions)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.consolidate import clusters, extractive_summary, token_overlap, words
from lifecycle.contradictions import Claim, Stated, contradictions, extract_claims
from lifecycle.policy import TenantPolicy, policy_from_mapping, policy_to_mapping

sentence = st.lists(
    st.sampled_from(
        ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "12", "7"]
    ),
    min_size=1,
    max_size=8,
).map(lambda ws: " ".join(ws) + ".")
texts = st.lists(st.lists(sentence, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=5)


@given(texts)
def test_the_summary_keeps_every_word_of_every_source(sources: list[str]) -> None:
    summary = extractive_summary(sources)
    assert set().union(*(words(s) for s in sources)) <= words(summary)
    assert len(summary) <= sum(len(s) + 1 for s in sources)


def test_repeated_statements_appear_once() -> None:
    assert extractive_summary(["I like tea. I walk daily.", "I like tea!", "i like TEA"]) == (
        "I like tea. I walk daily."
    )


def test_clusters_need_cosine_and_word_overlap_and_equal_numbers() -> None:
    same = np.ones((4, 8), dtype=np.float32)
    word_sets = [
        words("the cat sat on the red mat today"),
        words("the cat sat on the red mat today!"),
        words("quarterly numbers are due friday"),  # same vector, other words
        words("the cat sat on the red mat 2 today"),  # a number the seed does not have
    ]
    assert clusters(same, word_sets, min_cosine=0.9, min_overlap=0.8) == [[0, 1]]
    far = np.eye(4, 8, dtype=np.float32)  # same words, unrelated vectors
    assert clusters(far, [word_sets[0]] * 4, min_cosine=0.9, min_overlap=0.8) == []


@given(st.integers(2, 30), st.floats(0.5, 1.0), st.floats(0.1, 1.0), st.integers(0, 10_000))
def test_every_pair_in_a_cluster_passes_both_tests_with_its_seed(
    n: int, min_cos: float, min_overlap: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(6)
    vectors = base + 0.3 * rng.standard_normal((n, 6))
    vocab = ["a", "b", "c", "d", "e", "f", "g", "h"]
    word_sets = [set(rng.choice(vocab, size=4)) for _ in range(n)]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    found = clusters(vectors, word_sets, min_cosine=min_cos, min_overlap=min_overlap)
    members = [i for group in found for i in group]
    assert len(members) == len(set(members))  # disjoint
    for group in found:
        seed_row = group[0]
        for other in group[1:]:
            assert float(unit[seed_row] @ unit[other]) >= min_cos - 1e-6
            assert token_overlap(word_sets[seed_row], word_sets[other]) >= min_overlap


def test_claims_and_contradictions_newest_first() -> None:
    assert extract_claims("My favorite color is blue.", speaker="Ann") == [
        Claim("ann", "favorite color", "blue")
    ]
    assert extract_claims("My dog is happy today.", speaker="Ann") == []  # a state, not a fact
    assert extract_claims("I moved to New York last spring.", speaker="Ann") == [
        Claim("ann", "home", "new york")
    ]
    statements = [
        Stated("m1", 1, Claim("ann", "favorite color", "blue")),
        Stated("m2", 3, Claim("ann", "favorite color", "green")),
        Stated("m3", 2, Claim("ann", "favorite color", "green")),
        Stated("m4", 4, Claim("bob", "favorite color", "red")),
    ]
    pairs = [(new.memory, old.memory) for new, old in contradictions(statements)]
    assert pairs == [("m2", "m1")]


def test_policy_defaults_round_trip_and_bad_values_are_named() -> None:
    assert policy_from_mapping({}) == TenantPolicy()
    assert policy_from_mapping(policy_to_mapping(TenantPolicy())) == TenantPolicy()
    custom = policy_from_mapping({"half_life_days": 7, "consolidation": {"enabled": False}})
    assert custom.decay.half_life_days == 7 and not custom.consolidation.enabled
    for bad, name in [
        ({"half_life_days": 0}, "half_life_days"),
        ({"consolidation": {"min_cosine": 2}}, "min_cosine"),
        ({"tiers": {"hot": 0.1, "warm": 0.2}}, "hot >= warm"),
        ({"colour": 1}, "unknown"),
    ]:
        try:
            policy_from_mapping(bad)
        except ValueError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"accepted {bad}")
