from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from channels.base import Doc, Query
from channels.entities import extract_entities, normalize, query_entities
from channels.graph import GraphChannel

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _doc(key: int, text: str, speaker: str | None = None) -> Doc:
    return Doc(
        key=key, content=text, occurred_at=NOW, metadata={"speaker": speaker} if speaker else {}
    )


def test_extraction_and_normalisation() -> None:
    keys = {
        e.key: e.kind
        for e in extract_entities(
            "Yesterday Melanie's kids visited New York with Jon Smith.", {"speaker": "Caroline"}
        )
    }
    assert keys["caroline"] == "speaker"
    assert keys["melanie"] == "proper"
    assert keys["new york"] == "proper"
    assert keys["jon smith"] == "proper" and keys["jon"] == "proper"
    assert "yesterday" not in keys
    assert normalize("paintings") == "painting" and normalize("Melanie's") == "melanie"
    assert normalize("stories") == "story" and normalize("class") == "class"
    phrases = {
        e.key
        for e in extract_entities("I joined a pottery class and a support group")
        if e.kind == "phrase"
    }
    assert {"pottery class", "support group"} <= phrases
    assert query_entities("What did Caroline research?") == ["caroline"]


def test_shared_entity_surfaces_a_second_hop() -> None:
    channel = GraphChannel()
    channel.rebuild(
        [
            _doc(0, "Caroline met Ximena at the support group."),
            _doc(1, "Ximena runs a ceramics studio downtown."),
            _doc(2, "The weather was lovely at the beach."),
            _doc(3, "Caroline adopted a puppy."),
        ]
    )
    hits = channel.search(Query("Who did Caroline meet at the support group?", NOW, limit=10))
    keys = [h.key for h in hits]
    assert keys[0] == 0
    assert 1 in keys and 2 not in keys
    assert keys.index(1) > keys.index(3) or hits[keys.index(1)].score < hits[0].score
    why = hits[keys.index(1)].why
    seeds = "Caroline, support group, support, group"  # names, phrases, words of 5+ letters
    assert why["path"] == [f"query: {seeds}", "memory", "entity: Ximena", "this memory"]
    assert why["via_key"] == 0  # the memory in the middle, by key: no text is kept
    assert hits[0].why["matched_entities"] == seeds.split(", ")


def test_scope_blocks_paths_through_hidden_memories() -> None:
    channel = GraphChannel()
    channel.rebuild([_doc(0, "Caroline met Ximena."), _doc(1, "Ximena runs a studio.")])
    hits = channel.search(Query("Caroline", NOW, limit=10, allowed=np.array([1], dtype=np.int64)))
    assert hits == []


def test_rarer_entities_weigh_more() -> None:
    channel = GraphChannel()
    docs = [_doc(i, f"Caroline said hello number {i}") for i in range(10)] + [
        _doc(10, "Caroline visited Reykjavik")
    ]
    channel.rebuild(docs)
    hits = channel.search(Query("Caroline in Reykjavik", NOW, limit=3))
    assert hits[0].key == 10
