"""The catalog's time views (supersession): default, include_superseded, as_of, known_at."""

from __future__ import annotations

import uuid

import numpy as np

from channels.catalog import Catalog
from channels.timeline import INF, Timeline, TimeView

SCOPE = {"user_id": "u", "agent_id": None, "session_id": None}


def _catalog() -> tuple[Catalog, list[uuid.UUID]]:
    """Three versions of one fact (valid 10-20, 20-30, 30-) learnt at 11, 21, 31, and an
    unrelated memory of another user."""
    catalog = Catalog()
    ids = [uuid.UUID(int=i + 1) for i in range(4)]
    lines = [
        Timeline(10, 20, 11, 21, replaced=True),
        Timeline(20, 30, 21, 31, replaced=True),
        Timeline(30, INF, 31, INF),
    ]
    for memory_id, line in zip(ids, lines, strict=False):
        catalog.assign(memory_id, SCOPE, {}, timeline=line)
    catalog.assign(ids[3], {**SCOPE, "user_id": "v"}, {}, timeline=Timeline(5, INF, 5, INF))
    return catalog, ids


def _ids(catalog: Catalog, keys: np.ndarray | None) -> set[int]:
    assert keys is not None
    return {catalog.memory_id(int(k)).int for k in keys}  # type: ignore[union-attr]


def test_views() -> None:
    catalog, _ = _catalog()
    scope = catalog.allowed(user_id="u")
    assert _ids(catalog, catalog.in_view(None, TimeView())) == {3, 4}
    assert _ids(catalog, catalog.in_view(scope, TimeView())) == {3}
    assert _ids(catalog, catalog.in_view(scope, TimeView(include_superseded=True))) == {1, 2, 3}
    assert _ids(catalog, catalog.in_view(scope, TimeView(as_of=15))) == {1}
    assert _ids(catalog, catalog.in_view(scope, TimeView(as_of=20))) == {2}
    assert _ids(catalog, catalog.in_view(scope, TimeView(as_of=9))) == set()
    assert _ids(catalog, catalog.in_view(scope, TimeView(known_at=25))) == {2}
    assert _ids(catalog, catalog.in_view(scope, TimeView(known_at=10))) == set()
    # bi-temporal: what the store believed at 25 about time 15
    assert _ids(catalog, catalog.in_view(scope, TimeView(as_of=15, known_at=25))) == set()
    assert _ids(catalog, catalog.in_view(scope, TimeView(as_of=25, known_at=25))) == {2}


def test_nothing_replaced_costs_nothing_and_restores_are_seen() -> None:
    catalog = Catalog()
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    catalog.assign(a, SCOPE, {})
    catalog.assign(b, SCOPE, {})
    assert catalog.in_view(None, TimeView()) is None  # no filter at all
    catalog.assign(a, SCOPE, {}, timeline=Timeline(replaced=True))
    assert _ids(catalog, catalog.in_view(None, TimeView())) == {2}
    catalog.assign(a, SCOPE, {}, timeline=Timeline())  # undone
    assert catalog.in_view(None, TimeView()) is None
    catalog.assign(b, SCOPE, {}, timeline=Timeline(replaced=True))
    catalog.drop(b)
    assert catalog.in_view(None, TimeView()) is None


def test_a_few_replaced_memories_keep_the_whole_tenant_unfiltered() -> None:
    catalog = Catalog()
    ids = [uuid.uuid4() for _ in range(5)]
    for n, memory_id in enumerate(ids):
        line = Timeline(replaced=n == 1)
        catalog.assign(memory_id, {"user_id": "u"}, {}, timeline=line)
    keys, hidden = catalog.viewed(None, TimeView())
    assert keys is None and hidden == frozenset({catalog.key(ids[1])})
    scope = catalog.allowed(user_id="u")  # the whole tenant too
    assert scope is None
    keys, hidden = catalog.viewed(np.array([0, 1, 2], dtype=np.int64), TimeView())
    assert keys is not None and keys.tolist() == [0, 2] and hidden == frozenset()
    assert catalog.viewed(None, TimeView(include_superseded=True)) == (None, frozenset())
