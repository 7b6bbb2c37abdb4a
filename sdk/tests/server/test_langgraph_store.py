"""``MnemonixStore`` beyond LangGraph's own tests: how items live as memories (scope,
content, exact values), the fused search, ``index=False``, the async twin, store names, and
what happens to bad input. The app in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.store.base import PutOp, SearchOp

from mnemonix_client import AsyncMnemonix, Mnemonix, ValidationFailed
from mnemonix_client.langgraph import MnemonixStore

Clients = tuple[Mnemonix, AsyncMnemonix]


def _store(clients: Clients, **options: object) -> MnemonixStore:
    sync, async_ = clients
    return MnemonixStore(client=sync, async_client=async_, **options)  # type: ignore[arg-type]


def test_an_item_is_a_memory_of_the_namespaces_scope(tenant_clients: Clients) -> None:
    store = _store(tenant_clients)
    value = {
        "text": "Ann is allergic to peanuts",
        "deep": {"a": {"b": {"c": {"d": {"e": [1, 2.5, None, True, "ü"]}}}}},
        "": "an empty key",
        "n": 1,
        "f": 1.0,
    }
    store.put(("ann", "coach", "s1", "diet"), "allergy", value)
    item = store.get(("ann", "coach", "s1", "diet"), "allergy")
    assert item is not None and item.value == value
    assert [type(v) for v in (item.value["n"], item.value["f"])] == [int, float]

    (memory,) = tenant_clients[0].memories.list(user_id="ann").items
    assert (memory.user_id, memory.agent_id, memory.session_id) == ("ann", "coach", "s1")
    assert memory.content == "Ann is allergic to peanuts\nü\nan empty key"
    assert memory.pinned
    assert memory.metadata["langgraph.key"] == "allergy"
    assert memory.metadata["langgraph.namespace"] == "ann.coach.s1.diet"
    assert memory.metadata["langgraph.ns.3"] == "diet"
    assert (item.created_at, item.updated_at) == (memory.created_at, memory.updated_at)

    store.put(("ann", "coach", "s1", "diet"), "allergy", {"text": "Ann is allergic to shellfish"})
    (changed,) = tenant_clients[0].memories.list(user_id="ann").items
    assert changed.id == memory.id and changed.version == 2  # one key, one memory
    assert changed.content == "Ann is allergic to shellfish"


def test_query_search_is_the_fused_search(tenant_clients: Clients) -> None:
    store = _store(tenant_clients)
    facts = {
        "allergy": "Ann is allergic to peanuts and shellfish",
        "db": "The billing service runs on PostgreSQL 16",
        "party": "The birthday party is on June 12th at the park",
    }
    for key, text in facts.items():
        store.put(("ann",), key, {"text": text})
    store.put(("bo",), "allergy", {"text": "Bo is allergic to cats"})
    hits = store.search(("ann",), query="which database runs billing?", limit=2)
    assert [h.key for h in hits][0] == "db"
    assert all(h.namespace == ("ann",) for h in hits) and len(hits) == 2
    assert hits[0].score is not None and hits[0].score >= hits[1].score  # type: ignore[operator]
    assert {h.namespace for h in store.search((), query="allergic", limit=10)} == {
        ("ann",),
        ("bo",),
    }
    assert store.search(("ann",), query="allergic", filter={"text": {"$ne": "x"}}, offset=1) != []
    # a plain memory of the same user is not an item of the store
    tenant_clients[0].memories.add("Ann is allergic to dust", user_id="ann")
    assert {h.key for h in store.search(("ann",), query="allergic dust", limit=10)} <= set(facts)


def test_index_false_and_index_paths(tenant_clients: Clients) -> None:
    store = _store(tenant_clients, fields=["title"])
    store.put(("docs",), "secret", {"title": "launch codes", "body": "0000"}, index=False)
    store.put(("docs",), "plan", {"title": "launch plan", "body": "Tuesday"})
    store.put(("docs",), "body", {"title": "notes", "body": "the launch slipped"}, index=["body"])
    assert store.get(("docs",), "secret") is not None
    assert {i.key for i in store.search(("docs",))} == {"secret", "plan", "body"}
    assert {i.key for i in store.search(("docs",), query="launch codes")} == {"plan", "body"}
    contents = {m.metadata["langgraph.key"]: m.content for m in tenant_clients[0].memories.iter()}
    assert contents["plan"] == "launch plan" and contents["body"] == "the launch slipped"


def test_names_and_scope_fields(tenant_clients: Clients) -> None:
    a = _store(tenant_clients, name="a")
    b = _store(tenant_clients, name="b", scope_fields=(None, "user_id"))
    a.put(("memories", "ann"), "k", {"text": "from a"})
    b.put(("memories", "ann"), "k", {"text": "from b"})
    assert a.get(("memories", "ann"), "k").value == {"text": "from a"}  # type: ignore[union-attr]
    assert b.get(("memories", "ann"), "k").value == {"text": "from b"}  # type: ignore[union-attr]
    assert a.list_namespaces() == b.list_namespaces() == [("memories", "ann")]
    users = {m.metadata["langgraph.store"]: m.user_id for m in tenant_clients[0].memories.iter()}
    assert users == {"a": "memories", "b": "ann"}
    b.delete(("memories", "ann"), "k")
    assert b.get(("memories", "ann"), "k") is None and a.get(("memories", "ann"), "k") is not None


def test_async_twin(tenant_clients: Clients) -> None:
    async def scenario() -> None:
        store = _store(tenant_clients)
        await store.aput(("ann",), "a", {"text": "Ann plays the violin"})
        await store.abatch(
            [
                PutOp(("ann", "work"), "b", {"text": "Ann works on billing"}),
                PutOp(("ann",), "gone", {"text": "soon deleted"}),
                PutOp(("ann",), "gone", None),
            ]
        )
        assert (await store.aget(("ann",), "a")).value == {"text": "Ann plays the violin"}  # type: ignore[union-attr]
        assert await store.aget(("ann",), "gone") is None
        hits = await store.asearch(("ann",), query="what instrument does Ann play?", limit=1)
        assert hits[0].key == "a"
        assert await store.alist_namespaces(prefix=("ann",)) == [("ann",), ("ann", "work")]
        await store.adelete(("ann", "work"), "b")
        assert [i.key for i in await store.asearch(("ann",))] == ["a"]

    asyncio.run(scenario())
    # a store given only a sync client runs abatch in a thread
    only_sync = MnemonixStore(client=tenant_clients[0])
    assert asyncio.run(only_sync.aget(("ann",), "a")) is not None
    with pytest.raises(Exception, match="only an async client"):
        MnemonixStore(async_client=tenant_clients[1]).get(("ann",), "a")


def test_a_duplicate_key_heals_on_the_next_put(tenant_clients: Clients) -> None:
    store = _store(tenant_clients)
    store.put(("ann",), "k", {"text": "first"})
    (memory,) = tenant_clients[0].memories.list().items
    # a second writer racing on the same new key leaves a second memory
    tenant_clients[0].memories.add(memory.content, user_id="ann", metadata=memory.metadata)
    assert len(tenant_clients[0].memories.list().items) == 2
    store.put(("ann",), "k", {"text": "second"})
    assert [m.content for m in tenant_clients[0].memories.list().items] == ["second"]
    assert store.get(("ann",), "k").value == {"text": "second"}  # type: ignore[union-attr]


def test_bad_input_writes_nothing(tenant_clients: Clients) -> None:
    store = _store(tenant_clients)
    with pytest.raises(ValidationFailed):  # over the server's 16 KB of metadata
        store.put(("ann",), "big", {"text": "x" * 20_000})
    with pytest.raises(ValidationFailed):  # a scope id is at most 255 characters
        store.put(("a" * 300,), "k", {"text": "x"})
    with pytest.raises(ValueError):  # not JSON
        store.put(("ann",), "nan", {"x": float("nan")})
    with pytest.raises(ValueError):
        store.batch([SearchOp(("ann",), filter={"x": {"$near": 1}})])
    assert tenant_clients[0].memories.list().items == []
