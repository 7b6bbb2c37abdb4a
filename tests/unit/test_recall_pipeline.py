"""The pure parts of the search pipeline: query plan, adaptive weights, feedback, relevance."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.adaptive import adapt, agreement, peakedness
from channels.base import Hit
from channels.feedback import neighbour_hits, rm3_terms, rocchio
from channels.fusion import ChannelRank
from channels.query_plan import (
    combine_parts,
    context_weight,
    plan_query,
    query_form,
    resolve_pronouns,
)
from channels.relevance import relevance

DIALOGUE = "\n".join(
    [
        "Melanie: We went camping at the lake last weekend.",
        "Caroline: That sounds lovely! Did the kids like it?",
        "Melanie: They loved it, my son caught his first fish.",
        "Caroline: Which books have you read with your kids lately?",
    ]
)


def test_query_forms() -> None:
    assert query_form("When did Melanie go camping?") == "question"
    assert query_form("pottery class clay") == "keywords"
    assert query_form(DIALOGUE) == "dialogue"
    assert query_form("word " * 200 + ". Another sentence. And a third one!") == "dialogue"


def test_a_question_is_one_part_as_given() -> None:
    plan = plan_query("When did Melanie go camping?")
    assert [(p.role, p.text, p.weight) for p in plan.parts] == [
        ("query", "When did Melanie go camping?", 1.0)
    ]


def test_a_dialogue_is_planned_as_focus_and_recency_weighted_context() -> None:
    plan = plan_query(DIALOGUE)
    focus, context = plan.parts
    # the asker's "you"/"your" is the other party; the speaker prefix is gone
    assert focus.text == "Which books have Melanie read with Melanie's kids lately?"
    assert focus.weight == 1.0
    assert context.role == "context" and context.text.startswith("Melanie: We went camping")
    assert 0 < context.weight < focus.weight
    weights = [w for _, w in context.embed]
    assert weights == sorted(weights)  # the newest turn weighs most
    assert plan_query(DIALOGUE, split_dialogue=False).parts[0].text == DIALOGUE


def test_pronouns_resolve_to_the_speakers() -> None:
    assert resolve_pronouns("I lost my keys, did you see them?", "Ann", "Bob") == (
        "Ann lost Ann's keys, did Bob see them?"
    )


def test_a_vague_focus_leans_on_the_context_more() -> None:
    assert context_weight("and then?") > context_weight("which pottery class did Melanie take")


def test_combine_parts_prefers_what_both_parts_found() -> None:
    focus = [Hit(1, 9.0), Hit(2, 8.0), Hit(3, 7.0)]
    context = [Hit(3, 5.0), Hit(4, 4.0)]
    merged = combine_parts([focus, context], [1.0, 0.5], limit=10)
    assert [h.key for h in merged][:2] == [3, 1]  # found by both parts, then the best focus hit
    assert [h.score for h in merged] == sorted((h.score for h in merged), reverse=True)
    assert combine_parts([focus], [1.0], limit=2) == focus[:2]


def test_peakedness_and_agreement() -> None:
    assert peakedness([10.0, 1.0, 1.0, 1.0, 0.9]) > peakedness([10.0, 9.5, 9.0, 8.5, 8.0])
    assert peakedness([1.0, 1.0, 1.0]) == 0.0
    rankings = {"a": [Hit(1, 1.0), Hit(2, 0.9)], "b": [Hit(2, 3.0), Hit(9, 2.0)]}
    assert agreement(rankings, "a") == 0.5


def test_rules_move_weights_with_a_reason_and_no_evidence_leaves_them() -> None:
    rankings = {"a": [Hit(1, 1.0), Hit(2, 0.5), Hit(3, 0.1)], "b": [Hit(1, 2.0)]}
    adapted = adapt(
        {"a": 1.0, "b": 0.5}, rankings, boosts={"b": (2.0, "names a time")}, evidence=False
    )
    assert adapted.weights == {"a": 1.0, "b": 1.0}
    assert adapted.reasons == {"b": ["x2: names a time"]}


@settings(deadline=None)  # a loaded CI machine must not fail a pure function
@given(
    st.lists(
        st.lists(st.floats(0, 100), min_size=0, max_size=20).map(lambda s: sorted(s)[::-1]),
        min_size=2,
        max_size=4,
    )
)
def test_evidence_weights_stay_positive_and_explained(score_lists: list[list[float]]) -> None:
    names = [f"c{i}" for i in range(len(score_lists))]
    rankings = {
        n: [Hit(k, s) for k, s in enumerate(scores)]
        for n, scores in zip(names, score_lists, strict=True)
    }
    adapted = adapt(dict.fromkeys(names, 1.0), rankings, evidence=True)
    assert all(w > 0 for w in adapted.weights.values())
    assert set(adapted.reasons) <= set(names)


def test_rm3_terms_leave_out_the_query_and_weigh_by_idf() -> None:
    docs = [
        ("Melanie: the pottery class was great, pottery is calming", 2.0),
        ("Melanie: great news, the clay pottery bowl is done", 1.0),
    ]
    terms = [t for t, _ in rm3_terms(docs, "What did Melanie make?")]
    assert "pottery" in terms[:2] or "potteri" in terms[:2]
    assert "melani" not in terms  # in the query
    rare = rm3_terms(docs, "What did Melanie make?", idf=lambda t: 0.01 if t == "great" else 1.0)
    assert "great" not in [t for t, _ in rare][:3]


def test_rocchio_moves_the_query_towards_the_feedback_and_stays_unit() -> None:
    q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    d = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    moved = rocchio(q, [(d, 1.0)], beta=0.5)
    assert abs(float(np.linalg.norm(moved)) - 1.0) < 1e-6
    assert 0 < float(moved @ d) < float(moved @ q)
    assert np.array_equal(rocchio(q, []), q)


def test_neighbours_follow_their_hits_order_and_skip_the_hits() -> None:
    near = {1: (None, 2), 5: (4, 6), 2: (1, 3)}
    hits = neighbour_hits([1, 5, 2], lambda k: near.get(k, (None, None)))
    assert [h.key for h in hits] == [6, 4, 3]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["keyword", "semantic", "graph", "toy"]),
        st.integers(1, 50),
        min_size=0,
        max_size=4,
    ),
    st.integers(1, 100),
)
def test_relevance_is_a_probability(ranks: dict[str, int], position: int) -> None:
    value = relevance({n: ChannelRank(r, 0.5) for n, r in ranks.items()}, position)
    assert 0.0 <= value <= 1.0


def test_relevance_rises_with_rank() -> None:
    top = relevance({"keyword": ChannelRank(1, 9.0)}, 1)
    low = relevance({"keyword": ChannelRank(40, 1.0)}, 40)
    assert top > low
