"""The keyword channel (channels.keyword) against ground truth: rank-bm25's BM25Okapi."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from channels import keyword_index, postings
from channels.base import Channel, Doc, Hit, Query
from channels.keyword import KeywordChannel, tokenize

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CORPUS = [
    "Caroline: I went to a LGBTQ support group yesterday and it was so powerful.",
    "Melanie: I'm swamped with the kids & work. What's up with you, Caroline?",
    "Caroline: The transgender stories were so inspiring! I was so happy.",
    "Melanie: I painted a sunrise over the lake last year; painting relaxes me.",
    "Caroline: I'm researching adoption agencies, I want to give kids a home.",
    "Melanie: We went camping with the kids at the beach. The kids loved it!",
    "Jon: I lost my job as a banker, so I'm opening a dance studio.",
    "Gina: My clothing store launched online; dance is still my passion.",
    "Melanie's daughter took a pottery class and made a bowl.",
    "Caroline: Support groups helped me a lot when I transitioned.",
    "Caroline: Caroline's mentor runs the support group at the community centre.",
    "Caroline: I ran a charity race for mental health in May 2023.",
    "",  # an empty memory still counts in N and avgdl
    "Caroline: the the the and of",  # only a name survives
]
QUERIES = [
    "When did Caroline go to the LGBTQ support group?",
    "What did Melanie paint?",
    "kids camping beach",
    "Jon's dance studio",
    "pottery bowl daughter",
    "adoption agencies",
    "support support group",  # a repeated term counts twice, as in BM25Okapi
    "Caroline",  # in more than half the documents: idf floored at epsilon * mean idf
    "charity race 2023",
    "unknownword",
]
PARAMS = [
    {},
    {"k1": 1.2, "b": 0.5},
    {"k1": 2.0, "b": 1.0, "epsilon": 0.5},
    {"k1": 0.9, "b": 0.0},
]


def _docs(texts: Mapping[int, str]) -> list[Doc]:
    return [Doc(key=k, content=t, occurred_at=NOW) for k, t in texts.items()]


def _channel(texts: Mapping[int, str], **params: float) -> KeywordChannel:
    channel = KeywordChannel(**params)
    channel.upsert(_docs(texts))
    return channel


def _oracle(texts: Mapping[int, str], query: str, **params: float) -> dict[int, float]:
    """BM25Okapi scores of the documents that contain a query term."""
    keys = sorted(texts)
    tokens = [tokenize(texts[k]) for k in keys]
    if not keys or not any(tokens):
        return {}
    scores = BM25Okapi(tokens, **params).get_scores(tokenize(query))
    terms = set(tokenize(query))
    return {k: float(s) for k, t, s in zip(keys, tokens, scores, strict=True) if terms & set(t)}


def _assert_top_k(hits: list[Hit], expected: Mapping[int, float], limit: int) -> None:
    """``hits`` are the true top ``limit`` of ``expected``, best first, ties by key."""
    assert len(hits) == min(limit, len(expected))
    for hit in hits:
        assert hit.score == pytest.approx(expected[hit.key], abs=1e-6)
        assert hit.why["bm25"] == hit.score
    for a, b in zip(hits, hits[1:], strict=False):
        assert (a.score, -a.key) > (b.score, -b.key)
    if hits:
        returned = {h.key for h in hits}
        assert all(s <= hits[-1].score + 1e-9 for k, s in expected.items() if k not in returned)


@pytest.mark.parametrize("params", PARAMS)
def test_every_score_equals_bm25okapi(params: dict[str, float]) -> None:
    texts = dict(enumerate(CORPUS))
    channel = _channel(texts, **params)
    reference = BM25Okapi([tokenize(t) for t in CORPUS], **params)
    for query in QUERIES:
        got = np.zeros(len(CORPUS))
        for hit in channel.search(Query(query, NOW, limit=100)):
            got[hit.key] = hit.score
        # b = 1 gives the empty document 0 / 0 = nan in BM25Okapi; it matches nothing: 0
        with np.errstate(invalid="ignore"):
            expected = np.nan_to_num(reference.get_scores(tokenize(query)), nan=0.0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=query)
        _assert_top_k(
            channel.search(Query(query, NOW, limit=4)), _oracle(texts, query, **params), 4
        )


def test_idf_floor_is_bm25okapis() -> None:
    reference = BM25Okapi([tokenize(t) for t in CORPUS])
    channel = _channel(dict(enumerate(CORPUS)))
    floor = 0.25 * reference.average_idf
    assert reference.idf["carolin"] == floor  # the floored case is really exercised
    assert channel.idf("carolin") == pytest.approx(floor, abs=1e-12)
    assert channel.idf("pottery") == 0.0  # terms are looked up tokenized: "potteri"
    assert channel.idf("potteri") == pytest.approx(reference.idf["potteri"], abs=1e-12)


def test_a_single_document_scores_as_bm25okapi_even_negative() -> None:
    # N = 1: every idf is ln(0.5 / 1.5) < 0 and so is the floor
    channel = _channel({7: "paint the lake, paint the sunrise"})
    (hit,) = channel.search(Query("paint", NOW))
    expected = BM25Okapi([tokenize("paint the lake, paint the sunrise")]).get_scores(["paint"])
    assert hit.key == 7 and hit.score == pytest.approx(expected[0], abs=1e-9) and hit.score < 0


def test_tokenizer_handles_conversational_english() -> None:
    assert tokenize("Melanie's PAINTINGS, paintings; painted!") == ["melani"] + ["paint"] * 3
    assert tokenize("I'm going to the café") == ["go", "cafe"]
    assert tokenize("Caroline’s mom: “it’s well-known”") == ["carolin", "mom", "well", "known"]
    assert tokenize("Jon'll go; needn't worry at 3.5 o'clock") == [
        "jon", "go", "need", "worri", "3", "5", "oclock",
    ]  # fmt: skip
    assert tokenize("the and of, I don't") == []
    assert tokenize("In May 2023, 42 runners") == ["may", "2023", "42", "runner"]
    assert tokenize("Ｎａïｖｅ RÉSUMÉ _x_") == ["naiv", "resum", "x"]


def test_corpus_statistics_follow_every_write() -> None:
    texts = dict(enumerate(CORPUS))
    channel = _channel(texts)
    for step in range(6):  # N, avgdl, df and the floor's mean idf all move with each write
        _assert_top_k(channel.search(Query("Caroline", NOW)), _oracle(texts, "Caroline"), 50)
        _assert_top_k(channel.search(Query("kids", NOW)), _oracle(texts, "kids"), 50)
        if step % 2:
            channel.remove([step])
            del texts[step]
        else:
            channel.upsert([Doc(100 + step, "Caroline and the kids " * step, NOW)])
            texts[100 + step] = "Caroline and the kids " * step


def test_why_names_the_matched_terms() -> None:
    channel = _channel(dict(enumerate(CORPUS)))
    (hit,) = channel.search(Query("What did Melanie's daughter make in pottery class?", NOW, 1))
    assert hit.key == 8
    assert hit.why == {
        "matched_terms": ["melani", "daughter", "potteri", "class"],
        "bm25": hit.score,
    }


def test_context_is_a_weighted_field() -> None:
    doc = Doc(0, "Caroline painted", NOW, context_before="a sunrise", context_after="lake lake")
    others = ["sunrise over the bay", "a painted fence", "Caroline likes the lake"]
    others += [f"filler note {i}" for i in range(6)]
    docs = [doc] + [Doc(i + 1, t, NOW) for i, t in enumerate(others)]
    query = "painted sunrise lake"
    channel = KeywordChannel(context_weight=2.0)  # context words counted twice
    channel.upsert(docs)
    tokens = [tokenize(doc.content) + 2 * tokenize("a sunrise lake lake")]
    tokens += [tokenize(t) for t in others]
    expected = BM25Okapi(tokens).get_scores(tokenize(query))
    hits = {h.key: h for h in channel.search(Query(query, NOW))}
    assert set(hits) == {0, 1, 2, 3} and min(h.score for h in hits.values()) > 0.1
    for key, hit in hits.items():
        assert hit.score == pytest.approx(expected[key], abs=1e-9)
    assert hits[0].why["matched_terms"] == ["paint"]
    assert hits[0].why["matched_in_context"] == ["sunris", "lake"]
    ignored = KeywordChannel(context_weight=0.0)
    ignored.upsert(docs)
    assert {h.key for h in ignored.search(Query("sunrise", NOW))} == {1}


@pytest.mark.parametrize("text", ["", "   ", "the of and", "?!", "zzzunknown"])
def test_queries_without_known_terms_return_nothing(text: str) -> None:
    channel = _channel(dict(enumerate(CORPUS)))
    assert channel.search(Query(text, NOW)) == []
    assert channel.search(Query("kids", NOW, limit=0)) == []
    assert KeywordChannel().search(Query("kids", NOW)) == []


def test_scope_returns_only_allowed_keys_and_their_true_top_k() -> None:
    rng = np.random.default_rng(3)
    texts = {
        k: f"note {k} " + ("lake dance " * (k % 4)) + ("dance" if k % 3 else "") for k in range(300)
    }
    channel = _channel(texts)
    for _ in range(20):
        allowed = np.unique(np.concatenate([rng.choice(300, 25), [-5, 301, 10_000]]))
        allowed_set = set(allowed.tolist())
        for query in ["dance", "lake dance", "note 17"]:
            hits = channel.search(Query(query, NOW, limit=10, allowed=allowed))
            assert {h.key for h in hits} <= allowed_set
            scoped = {k: s for k, s in _oracle(texts, query).items() if k in allowed_set}
            _assert_top_k(hits, scoped, 10)  # same corpus statistics, only fewer keys
    assert channel.search(Query("dance", NOW, allowed=np.zeros(0, dtype=np.int64))) == []
    # allowed documents that match no query term are not returned
    hits = channel.search(Query("17", NOW, allowed=np.array([0, 3, 17, 50, 117])))
    assert [h.key for h in hits] == [17]


def test_removed_documents_are_never_returned() -> None:
    channel = _channel(dict(enumerate(CORPUS)))
    channel.remove([8, 8, 99, -1])  # duplicates and unknown keys are ignored
    assert channel.search(Query("pottery bowl", NOW)) == []
    assert 8 not in {h.key for h in channel.search(Query("Melanie daughter", NOW, limit=100))}
    assert channel.stats().documents == len(CORPUS) - 1
    channel.upsert([Doc(8, "a new bowl", NOW)])
    assert [h.key for h in channel.search(Query("pottery bowl", NOW))] == [8]


def test_upsert_replaces_and_is_idempotent() -> None:
    texts = dict(enumerate(CORPUS))
    channel = _channel(texts)
    before = channel.stats()
    channel.upsert(_docs(texts))
    assert channel.stats().documents == before.documents
    channel.upsert([Doc(3, "Melanie: my kids love the beach", NOW)])
    texts[3] = "Melanie: my kids love the beach"
    assert channel.search(Query("sunrise", NOW)) == []
    _assert_top_k(channel.search(Query("kids beach", NOW)), _oracle(texts, "kids beach"), 50)


def test_ties_break_by_key_whatever_the_insertion_order() -> None:
    channel = KeywordChannel()
    channel.upsert([Doc(k, "twin words here", NOW) for k in (9, 2, 40, 5, 7)])
    channel.upsert([Doc(1, "other words", NOW)])
    hits = channel.search(Query("twin", NOW, limit=3))
    assert [h.key for h in hits] == [2, 5, 7]
    assert len({h.score for h in hits}) == 1


def test_rebuild_replaces_everything_and_equals_upserts() -> None:
    channel = _channel({100 + k: t for k, t in enumerate(CORPUS)})
    channel.rebuild(_docs(dict(enumerate(CORPUS))))
    fresh = _channel(dict(enumerate(CORPUS)))
    for query in QUERIES:
        assert channel.search(Query(query, NOW)) == fresh.search(Query(query, NOW))
    assert channel.stats().documents == len(CORPUS)
    assert channel.keys().tolist() == list(range(len(CORPUS)))


def test_stats_count_documents_terms_and_bytes() -> None:
    channel = KeywordChannel()
    assert channel.stats().documents == 0 and channel.stats().extra["terms"] == 0
    channel.upsert(_docs(dict(enumerate(CORPUS))))
    stats = channel.stats()
    vocabulary = {t for text in CORPUS for t in tokenize(text)}
    postings = sum(len(set(tokenize(text))) for text in CORPUS)
    assert stats.documents == len(CORPUS)
    assert stats.extra["terms"] == len(vocabulary) and stats.extra["postings"] == postings
    assert stats.extra["avgdl"] == pytest.approx(BM25Okapi([tokenize(t) for t in CORPUS]).avgdl)
    assert stats.index_bytes > postings * 8
    channel.upsert(_docs({1000 + k: t for k, t in enumerate(CORPUS)}))
    assert channel.stats().index_bytes > stats.index_bytes


def test_is_a_channel_and_rejects_bad_input() -> None:
    channel = KeywordChannel()
    assert isinstance(channel, Channel) and channel.name == "keyword"
    with pytest.raises(ValueError):
        channel.upsert([Doc(-1, "negative key", NOW)])
    with pytest.raises(ValueError):
        KeywordChannel(b=1.5)


def test_postings_live_in_a_merged_main_segment_and_a_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postings, "TAIL_MIN", 20)
    texts = {k: CORPUS[k % len(CORPUS)] + f" item{k % 5}" for k in range(40)}
    channel = _channel(texts)  # one batch: merged once at its end
    index = channel._index
    assert index.store.tail_postings == 0 and index.store.main_slot.size == index.postings_count()
    channel.upsert([Doc(100, "kids kids kids", NOW)])  # small write: stays in the tail
    texts[100] = "kids kids kids"
    assert index.store.tail_postings and index.store.main_slot.size < index.postings_count()
    slots, own, context = index.postings(index.vocabulary["kid"])
    assert slots.tolist() == sorted(slots.tolist()) and int(own[-1]) == 3
    assert index.slot_key[slots[-1]] == 100 and not context.any()
    channel.remove([0, 2])
    del texts[0], texts[2]
    for query in QUERIES + ["item3 kids"]:
        _assert_top_k(channel.search(Query(query, NOW, limit=7)), _oracle(texts, query), 7)
    channel.upsert(_docs({200 + k: "kids " + t for k, t in enumerate(CORPUS)}))
    texts.update({200 + k: "kids " + t for k, t in enumerate(CORPUS)})
    assert index.store.tail_postings == 0  # the batch pushed the tail over its bound: merged
    for query in QUERIES + ["item3 kids"]:
        _assert_top_k(channel.search(Query(query, NOW, limit=7)), _oracle(texts, query), 7)


def test_a_term_repeated_past_a_nibble_keeps_its_exact_count() -> None:
    texts = {0: "echo " * 40, 1: "echo once", 2: "other words", 3: "echo " * 15 + "x"}
    channel = _channel(texts)
    context_doc = Doc(4, "reply", NOW, context_before="echo " * 33)
    channel.upsert([context_doc])
    index = channel._index
    slots, own, context = index.postings(index.vocabulary["echo"])
    assert own.tolist() == [40, 1, 15, 0] and context.tolist() == [0, 0, 0, 33]
    channel.remove([4])
    _assert_top_k(channel.search(Query("echo", NOW)), _oracle(texts, "echo"), 10)


def test_compaction_renumbers_slots_without_changing_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keyword_index, "COMPACT_MIN_DEAD", 8)
    texts = {k: CORPUS[k % len(CORPUS)] + f" item{k % 5}" for k in range(60)}
    channel = _channel(texts)
    for round_ in range(5):  # replacements and deletes leave tombstoned slots
        channel.upsert(_docs({k: texts[k] for k in range(0, 60, 2)}))
        channel.remove([2 * round_ + 1])
        del texts[2 * round_ + 1]
        assert channel.stats().extra["dead_slots"] < max(8, channel.stats().documents) + 1
    assert channel.stats().extra["slots"] < 60 + 5 * 30  # compaction happened
    for query in QUERIES + ["item3 kids"]:
        _assert_top_k(channel.search(Query(query, NOW, limit=7)), _oracle(texts, query), 7)


WORDS = ["apple", "banana", "cherry", "dance", "studio", "kids", "beach", "lake", "paint", "the"]
text_st = st.lists(st.sampled_from(WORDS), max_size=7).map(" ".join)
op_st = st.one_of(
    st.tuples(st.just("upsert"), st.integers(0, 15), text_st),
    st.tuples(st.just("remove"), st.integers(-2, 17), st.just("")),
    st.tuples(st.just("compact"), st.just(0), st.just("")),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(op_st, max_size=40),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    st.none() | st.lists(st.integers(0, 15), unique=True).map(sorted),
    st.integers(1, 20),
)
def test_incremental_writes_equal_a_fresh_index_and_bm25okapi(
    ops: list[tuple[str, int, str]], query: str, allowed: list[int] | None, limit: int
) -> None:
    channel, texts = KeywordChannel(), {}
    for op, key, text in ops:
        if op == "upsert":
            channel.upsert([Doc(key, text, NOW)])
            texts[key] = text
        elif op == "remove":
            channel.remove([key])
            texts.pop(key, None)
        else:
            channel._index.compact()
    scope = None if allowed is None else np.array(allowed, dtype=np.int64)
    got = channel.search(Query(query, NOW, limit=limit, allowed=scope))
    fresh = KeywordChannel()
    fresh.rebuild(_docs(texts))
    want = fresh.search(Query(query, NOW, limit=limit, allowed=scope))
    assert [h.key for h in got] == [h.key for h in want]
    assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-9)
    expected = _oracle(texts, query)
    if allowed is not None:
        expected = {k: s for k, s in expected.items() if k in set(allowed)}
    _assert_top_k(got, expected, limit)
    assert channel.stats().documents == len(texts)
    assert channel.keys().tolist() == sorted(texts)
