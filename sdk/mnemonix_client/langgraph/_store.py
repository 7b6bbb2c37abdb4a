"""``MnemonixStore``: LangGraph's ``BaseStore`` over the Mnemonix REST API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from mnemonix_client._plan import Call, Plan, arun, list_all, run
from mnemonix_client.async_client import AsyncMnemonix
from mnemonix_client.client import Mnemonix
from mnemonix_client.exceptions import MnemonixError, NotFound
from mnemonix_client.langgraph import _mapping as m
from mnemonix_client.models import Memory, SearchResult

MAX_SEARCH_LIMIT = 100  # the server's largest search result


class MnemonixStore(BaseStore):
    """A LangGraph store whose items are Mnemonix memories, so an agent's long-term memory
    gets the fused four-channel search, the lifecycle and tenant isolation.

    >>> store = MnemonixStore(api_key="mnx_...")
    >>> store.put(("ann", "coach"), "diet", {"text": "Ann is allergic to peanuts"})
    >>> store.search(("ann",), query="what should Ann not eat?")[0].value
    {'text': 'Ann is allergic to peanuts'}

    Args:
        api_key, base_url: build the store's own sync and async clients (closed by
            ``close()``); ignored when ``client`` or ``async_client`` is given.
        client: a ``Mnemonix`` client for ``batch`` (and, in a worker thread, ``abatch``).
        async_client: an ``AsyncMnemonix`` client for ``abatch``.
        name: the store's name, kept on each memory; stores of different names in one
            tenant never see each other's items.
        scope_fields: which scope field each namespace position maps to (see
            ``_mapping``); ``(None, "user_id")`` suits namespaces like ``("memories", user)``.
        fields: the value paths whose text each memory holds (LangGraph's path syntax,
            e.g. ``["text", "tags[*]"]``); default: every string in the value. A ``put``
            with ``index=[...]`` overrides it for that item.
        pinned: store items pinned (the default), so the lifecycle never fades them nor
            merges two keyed items into one; ``False`` lets them age like other memories.

    Operations in one ``batch`` run in order. ``search`` with a ``query`` is the fused
    search (at most its best 100 hits, then filtered); without one it walks the namespace's items oldest
    first. Items written with ``index=False`` are returned by ``get`` and by ``search``
    without a query, never by a query search.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        client: Mnemonix | None = None,
        async_client: AsyncMnemonix | None = None,
        name: str = "default",
        scope_fields: Sequence[m.ScopeField | None] = m.DEFAULT_SCOPE_FIELDS,
        fields: Sequence[str] | None = None,
        pinned: bool = True,
    ) -> None:
        self._owned = client is None and async_client is None
        if self._owned:
            client = Mnemonix(api_key=api_key, base_url=base_url)
        self._api_key, self._base_url = api_key, base_url
        self._client = client
        self._async_client = async_client
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self.name = name
        self.namespaces = m.NamespaceMap(scope_fields)
        self.fields = list(fields) if fields is not None else None
        self.pinned = pinned

    def close(self) -> None:
        """Close the sync client the store built (``aclose`` closes both; never a client
        it was given)."""
        if self._owned and self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        if self._owned and self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None
        self.close()

    def _async(self) -> AsyncMnemonix | None:
        """The async client; a store that builds its own builds one per event loop, since
        an httpx connection pool cannot outlive the loop it was opened in."""
        if self._owned:
            loop = asyncio.get_running_loop()
            if self._async_client is None or self._async_loop is not loop:
                self._async_client = AsyncMnemonix(api_key=self._api_key, base_url=self._base_url)
                self._async_loop = loop
        return self._async_client

    def __enter__(self) -> MnemonixStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> MnemonixStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        if self._client is None:
            raise MnemonixError("This store has only an async client: use abatch / the a* methods.")
        client = self._client
        return [run(client, self._plan(op)) for op in self._checked(ops)]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        checked = self._checked(ops)
        client = self._async()
        if client is None:
            return await asyncio.to_thread(self.batch, checked)
        return [await arun(client, self._plan(op)) for op in checked]

    @staticmethod
    def _checked(ops: Iterable[Op]) -> list[Op]:
        checked = list(ops)
        for op in checked:
            validate_op_namespace(op)
            if isinstance(op, PutOp) and op.value is not None and not op.namespace:
                raise InvalidNamespaceError("Namespace cannot be empty.")
        return checked

    def _plan(self, op: Op) -> Plan[Result]:
        if isinstance(op, GetOp):
            return self._get(tuple(op.namespace), str(op.key))
        if isinstance(op, PutOp):
            return self._put(op)
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        raise TypeError(f"Unknown operation: {op!r}")

    # -- plans ---------------------------------------------------------------------------

    def _pages(self, scope: dict[str, str], metadata: dict[str, Any]) -> Plan[list[Memory]]:
        """Every memory of this store within ``scope`` and the metadata filters."""
        return (yield from list_all({**scope, "metadata": {m.STORE: self.name, **metadata}}))

    def _find(self, namespace: tuple[str, ...], key: str) -> Plan[list[Memory]]:
        """The memories holding ``(namespace, key)``, newest write first (normally one; two
        only when two writers created the same new key at once)."""
        scope = self.namespaces.scope(namespace)
        exact = {m.NAMESPACE: m.join(namespace), m.KEY: key}
        found = yield from self._pages(scope, exact)
        items = [mem for mem in found if m.is_item(mem, self.name)]
        return sorted(items, key=lambda mem: (mem.updated_at, mem.version), reverse=True)

    def _get(self, namespace: tuple[str, ...], key: str) -> Plan[Result]:
        found = yield from self._find(namespace, key)
        return m.to_item(found[0]) if found else None

    def _put(self, op: PutOp) -> Plan[Result]:
        namespace = tuple(op.namespace)
        found = yield from self._find(namespace, str(op.key))
        if op.value is None:
            stale = found
        else:
            fields = self.fields if op.index is None else (op.index or None)
            metadata = {
                **m.item_metadata(
                    self.name, namespace, str(op.key), op.value, op.index is not False
                ),
                **self.namespaces.label_metadata(namespace),
            }
            content = m.content_of(op.value, fields)
            body: dict[str, Any]
            if found:
                body = {"content": content, "metadata": metadata}
                yield Call("PATCH", f"/v1/memories/{found[0].id}", json=body)
                stale = found[1:]
            else:
                body = {
                    "content": content,
                    "metadata": metadata,
                    "pinned": self.pinned,
                    **self.namespaces.scope(namespace),
                }
                yield Call("POST", "/v1/memories", json=body)
                stale = []
        for memory in stale:
            with contextlib.suppress(NotFound):  # another writer deleted it first
                yield Call("DELETE", f"/v1/memories/{memory.id}")
        return None

    def _search(self, op: SearchOp) -> Plan[Result]:
        m.check_filter(op.filter)
        prefix = tuple(op.namespace_prefix)
        scope, metadata = self.namespaces.prefix_filters(prefix)
        wanted = op.offset + op.limit
        if op.query is None:
            found = yield from self._pages(scope, metadata)
            hits: list[tuple[Memory, float | None]] = [(mem, None) for mem in found]
        else:
            body = {
                "query": op.query,
                **scope,
                "filters": {m.STORE: self.name, m.INDEXED: True, **metadata},
                "limit": MAX_SEARCH_LIMIT if op.filter else max(1, min(wanted, MAX_SEARCH_LIMIT)),
            }
            data = yield Call("POST", "/v1/search", json=body, retry_post=True)
            hits = [(h.memory, h.score) for h in SearchResult.model_validate(data).results]
        results: list[SearchItem] = []
        for memory, score in hits:
            if not m.is_item(memory, self.name) or m.namespace_of(memory)[: len(prefix)] != prefix:
                continue
            item = m.to_item(memory)
            if m.matches_filter(item.value, op.filter):
                results.append(_search_item(item, score))
        return results[op.offset : wanted]

    def _list_namespaces(self, op: ListNamespacesOp) -> Plan[Result]:
        conditions = tuple(op.match_conditions or ())
        prefix = next((tuple(c.path) for c in conditions if c.match_type == "prefix"), ())
        scope, metadata = self.namespaces.prefix_filters(prefix)
        found = yield from self._pages(scope, metadata)
        namespaces: set[tuple[str, ...]] = set()
        for memory in found:
            if not m.is_item(memory, self.name):
                continue
            namespace = m.namespace_of(memory)
            if all(m.namespace_matches(namespace, c) for c in conditions):
                depth = op.max_depth if op.max_depth is not None else len(namespace)
                namespaces.add(namespace[:depth])
        return sorted(namespaces)[op.offset : op.offset + op.limit]


def _search_item(item: Item, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


__all__ = ["MnemonixStore"]
