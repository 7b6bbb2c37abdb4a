from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from channels import graph_index, hashids, postings
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


PEOPLE = ["Caroline", "Melanie", "Jon Smith", "Ximena", "Oscar"]
TOPICS = ["pottery class", "support group", "dance studio", "charity race", "the lake"]


def _random_docs(rng: np.random.Generator, keys: range) -> list[Doc]:
    docs = []
    for key in keys:
        who, other = rng.choice(PEOPLE, 2, replace=False)
        text = f"{who} told {other} about the {rng.choice(TOPICS)} on day {key % 9}"
        docs.append(_doc(int(key), text, speaker=str(rng.choice(PEOPLE[:2]))))
    return docs


def _oracle(docs: dict[int, Doc], text: str, allowed: set[int] | None) -> dict[int, float]:
    """The module docstring's two hops, by brute force over dicts (beta .5, F 10, hubs 100)."""
    entities = {
        k: [e.key for e in extract_entities(d.content, d.metadata)] for k, d in docs.items()
    }
    degree: dict[str, int] = {}
    for names in entities.values():
        for name in names:
            degree[name] = degree.get(name, 0) + 1
    n = len(docs)
    seeds = [e.key for e in extract_entities(text) if e.key in degree]
    seeds = list(dict.fromkeys(seeds))
    visible = [k for k in docs if allowed is None or k in allowed]
    hop1 = {k: sum(np.log(1 + n / degree[s]) for s in seeds if s in entities[k]) for k in visible}
    hop1 = {k: v for k, v in hop1.items() if v > 0}
    score = dict(hop1)
    for source in sorted(hop1, key=lambda k: (-hop1[k], k))[:10]:
        for name in entities[source]:
            if name in seeds or degree[name] > 100:
                continue
            share = 0.5 * hop1[source] * np.log(1 + n / degree[name]) / len(entities[source])
            for key in visible:
                if key != source and name in entities[key]:
                    score[key] = score.get(key, 0.0) + share
    return score


def test_incremental_index_with_merges_and_compaction_equals_the_formula(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postings, "TAIL_MIN", 8)
    monkeypatch.setattr(hashids, "RECENT_MIN", 4)
    monkeypatch.setattr(graph_index, "COMPACT_MIN_DEAD", 6)
    rng = np.random.default_rng(5)
    channel, live = GraphChannel(), {}
    for start in range(0, 120, 6):
        batch = _random_docs(rng, range(start, start + 6))
        channel.upsert(batch)
        live.update({d.key: d for d in batch})
        replaced = _random_docs(rng, [int(rng.integers(start + 6))])
        channel.upsert(replaced)
        live.update({d.key: d for d in replaced})
        gone = [int(k) for k in rng.choice(start + 6, 2)]
        channel.remove(gone)
        for key in gone:
            live.pop(key, None)
    index = channel._index
    assert index.store.main_slot.size > 0 and index._entity_ids.arrays()[0].size > 0  # merged
    assert index.slots < 120 + 20 + len(live)  # compacted at least once
    fresh = GraphChannel()
    fresh.rebuild(list(live.values()))
    scope = np.array(sorted(live)[::3], dtype=np.int64)
    for text in ["Caroline and the pottery class", "Ximena", "Jon at the charity race", "Oscar"]:
        for allowed in (None, scope):
            query = Query(text, NOW, limit=500, allowed=allowed)
            hits = channel.search(query)
            assert hits == fresh.search(query)
            wanted = _oracle(live, text, None if allowed is None else set(allowed.tolist()))
            assert {h.key for h in hits} == set(wanted)
            for hit in hits:
                assert hit.score == pytest.approx(wanted[hit.key], abs=1e-9)
    assert channel.stats().documents == len(live)
    assert channel.stats().extra["edges"] == sum(
        len(extract_entities(d.content, d.metadata)) for d in live.values()
    )
