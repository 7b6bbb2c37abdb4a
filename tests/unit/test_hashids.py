"""The compact hash -> id map against a dict, and the catalog's exact ids under collisions."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import channels.catalog as catalog_module
import channels.hashids as hashids
from channels.catalog import Catalog
from channels.hashids import HashIds, stable_hash

OPS = st.lists(
    st.tuples(st.sampled_from(["put", "remove"]), st.integers(-50, 50), st.integers(0, 1000)),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_hashids_behaves_like_a_dict(ops: list[tuple[str, int, int]]) -> None:
    hashids.RECENT_MIN = 4  # merge often, so the sorted arrays are exercised
    try:
        table, model = HashIds(), {}
        for op, key, value in ops:
            if op == "put":
                table.put(key, value)
                model[key] = value
            else:
                assert table.remove(key) == model.pop(key, -1)
            assert len(table) == len(model)
        for key in range(-50, 51):
            assert table.get(key) == model.get(key, -1)
        assert table.get_many(list(range(-50, 51))) == [model.get(k, -1) for k in range(-50, 51)]
    finally:
        hashids.RECENT_MIN = 4096


def test_stable_hash_is_signed_64_bit_and_fixed() -> None:
    # the same value in every process (Python's own str hash is randomised per process)
    assert stable_hash("new york") == stable_hash("new york")
    assert -(2**63) <= stable_hash("caroline") < 2**63
    assert stable_hash("") == 3244421341483603138


def test_catalog_keeps_ids_exact_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "_hash", lambda memory_id: memory_id.int % 3)
    catalog = Catalog()
    ids = [uuid.uuid4() for _ in range(12)]
    keys = {i: catalog.assign(i, {"user_id": "u"}, {}) for i in ids}
    assert len(set(keys.values())) == 12 and len(catalog) == 12
    for memory_id, key in keys.items():
        assert catalog.key(memory_id) == key
        assert catalog.memory_id(key) == memory_id
    for memory_id in ids[::2]:
        assert catalog.drop(memory_id) == keys[memory_id]
        assert catalog.key(memory_id) is None
    assert len(catalog) == 6
    for memory_id in ids[1::2]:
        assert catalog.key(memory_id) == keys[memory_id]
    assert catalog.key(uuid.uuid4()) is None
    again = catalog.assign(ids[0], {"user_id": "u"}, {})
    assert catalog.key(ids[0]) == again and catalog.memory_id(again) == ids[0]
