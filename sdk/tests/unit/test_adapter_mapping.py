"""The adapters' pure parts: namespace to scope, the text a memory holds, value filters."""

from __future__ import annotations

import pytest
from langgraph.store.base import MatchCondition

from mnemonix_client.langgraph import _mapping as m
from mnemonix_client.openai_agents._session import text_of


def test_namespace_positions_map_to_scope_fields_and_the_rest_to_metadata() -> None:
    default = m.NamespaceMap(m.DEFAULT_SCOPE_FIELDS)
    ns = ("ann", "coach", "s1", "notes", "x")
    assert default.scope(ns) == {"user_id": "ann", "agent_id": "coach", "session_id": "s1"}
    assert default.label_metadata(ns) == {"langgraph.ns.3": "notes", "langgraph.ns.4": "x"}
    assert default.prefix_filters(("ann", "*", "s1", "*", "x")) == (
        {"user_id": "ann", "session_id": "s1"},
        {"langgraph.ns.4": "x"},
    )
    memories_first = m.NamespaceMap((None, "user_id"))
    assert memories_first.scope(("memories", "ann")) == {"user_id": "ann"}
    assert memories_first.label_metadata(("memories", "ann")) == {"langgraph.ns.0": "memories"}
    with pytest.raises(ValueError):
        m.NamespaceMap(("user_id", "user_id"))
    with pytest.raises(ValueError):
        m.NamespaceMap(("tenant",))  # type: ignore[arg-type]


def test_content_is_the_values_text() -> None:
    value = {"text": "Ann likes jazz", "tags": ["music", "evening"], "n": 3, "meta": {"by": "bo"}}
    assert m.content_of(value, None) == "Ann likes jazz\nmusic\nevening\nbo"
    assert m.content_of(value, ["$"]) == m.content_of(value, None)
    assert m.content_of(value, ["text", "tags[0]"]) == "Ann likes jazz\nmusic"
    assert m.content_of({"n": 3}, None) == '{"n": 3}'  # no text: the JSON
    assert m.content_of({"text": "  "}, None) == '{"text": "  "}'
    assert len(m.content_of({"text": "x" * 40_000}, None)) == m.MAX_CONTENT_CHARS


def test_filters_follow_langgraphs_semantics() -> None:
    value = {"author": "Ann", "score": 4.5, "tags": ["a", "b"], "doc": {"lang": "en", "v": 2}}
    assert m.matches_filter(value, None) and m.matches_filter(value, {})
    assert m.matches_filter(value, {"author": "Ann", "tags": ["a", "b"]})
    assert not m.matches_filter(value, {"tags": ["a"]})
    assert m.matches_filter(value, {"doc": {"lang": "en"}})
    assert m.matches_filter(value, {"score": {"$gt": 4, "$lte": 4.5}})
    assert not m.matches_filter(value, {"score": {"$lt": 4}})
    assert m.matches_filter(value, {"author": {"$ne": "Bo"}, "missing": {"$ne": 1}})
    assert not m.matches_filter(value, {"missing": {"$gt": 1}})
    assert not m.matches_filter(value, {"author": {"$gt": 1}})
    with pytest.raises(ValueError):
        m.matches_filter(value, {"score": {"$near": 1}})


def test_namespace_conditions() -> None:
    ns = ("a", "b", "c")
    assert m.namespace_matches(ns, MatchCondition("prefix", ("a", "*")))
    assert m.namespace_matches(ns, MatchCondition("suffix", ("*", "c")))
    assert not m.namespace_matches(ns, MatchCondition("prefix", ("a", "b", "c", "d")))
    assert not m.namespace_matches(ns, MatchCondition("suffix", ("b",)))


def test_a_turns_text_is_what_a_person_reads() -> None:
    assert text_of({"role": "user", "content": "hi there"}) == "hi there"
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hello"}, {"type": "refusal", "refusal": "no"}],
    }
    assert text_of(message) == "Hello\nno"
    call = {"type": "function_call", "name": "recall", "arguments": '{"q":"x"}', "call_id": "c"}
    assert text_of(call) == 'recall({"q":"x"})'
    assert text_of({"type": "function_call_output", "call_id": "c", "output": "42"}) == "42"
    reasoning = {"type": "reasoning", "id": "r", "summary": [{"type": "summary_text", "text": "t"}]}
    assert text_of(reasoning) == "t"
    assert text_of({"type": "item_reference", "id": "x"}) == '{"id": "x", "type": "item_reference"}'
