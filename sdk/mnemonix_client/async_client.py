"""The asynchronous twin of ``Mnemonix``: same methods, awaited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import httpx

from mnemonix_client._base import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    context_body,
    create_body,
    search_body,
)
from mnemonix_client.admin import AsyncAdmin
from mnemonix_client.exceptions import TransportError
from mnemonix_client.models import (
    ContextBlock,
    Memory,
    MemoryEvent,
    MemoryLink,
    MemoryPage,
    SearchResult,
)


class AsyncMnemonix(BaseClient):
    """``async with AsyncMnemonix(api_key=...) as mx: await mx.search("...")``.

    The parameters are ``Mnemonix``'s; ``transport=`` takes an ``httpx.AsyncBaseTransport``
    (e.g. ``httpx.ASGITransport(app=...)``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=self.timeout, transport=transport
        )
        self.memories = AsyncMemories(self)
        self.admin = AsyncAdmin(self)

    async def __aenter__(self) -> AsyncMnemonix:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry_post: bool = False,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    method,
                    path,
                    **self._request_kwargs(
                        json, params, content=content, content_type=content_type
                    ),
                )
            except httpx.TransportError as exc:
                if not self._should_retry(method, attempt, None, retry_post):
                    raise TransportError(str(exc)) from exc
            else:
                if not self._should_retry(method, attempt, response.status_code, retry_post):
                    return self._parse(response)
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    async def stream_lines(self, method: str, path: str) -> AsyncIterator[bytes]:
        """A streamed response's lines (not retried: a stream may be half consumed)."""
        try:
            async with self._http.stream(method, path) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._parse(response)
                async for line in response.aiter_lines():
                    if line:
                        yield line.encode()
        except httpx.TransportError as exc:
            raise TransportError(str(exc)) from exc

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 10,
        reference_time: datetime | None = None,
        channels: Sequence[str] | None = None,
        weights: Mapping[str, float] | None = None,
        explain: bool = False,
        max_tokens: int | None = None,
        include_superseded: bool = False,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
        min_relevance: float = 0.0,
    ) -> SearchResult:
        """As ``Mnemonix.search``."""
        body = search_body(
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            filters=filters,
            limit=limit,
            reference_time=reference_time,
            channels=channels,
            weights=weights,
            explain=explain,
            max_tokens=max_tokens,
            include_superseded=include_superseded,
            as_of=as_of,
            known_at=known_at,
            min_relevance=min_relevance,
        )
        return SearchResult.model_validate(
            await self.request("POST", "/v1/search", json=body, retry_post=True)
        )

    async def context(
        self,
        query: str,
        *,
        max_tokens: int,
        format: Literal["text", "markdown", "json"] = "text",
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        reference_time: datetime | None = None,
        candidates: int | None = None,
        include_hits: bool = False,
    ) -> ContextBlock:
        """Same parameters as ``Mnemonix.context``."""
        body = context_body(
            query,
            max_tokens=max_tokens,
            format=format,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            filters=filters,
            reference_time=reference_time,
            candidates=candidates,
            include_hits=include_hits,
        )
        return ContextBlock.model_validate(
            await self.request("POST", "/v1/context", json=body, retry_post=True)
        )


class AsyncMemories:
    def __init__(self, client: AsyncMnemonix) -> None:
        self._client = client

    async def add(
        self,
        content: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        occurred_at: datetime | None = None,
        importance: float | None = None,
        pinned: bool | None = None,
        expires_at: datetime | None = None,
        ttl_seconds: int | None = None,
        supersedes: Sequence[uuid.UUID | str] | None = None,
    ) -> Memory:
        """As ``Mnemonix.memories.add``."""
        body = create_body(
            content,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            metadata=metadata,
            occurred_at=occurred_at,
            importance=importance,
            pinned=pinned,
            expires_at=expires_at,
            ttl_seconds=ttl_seconds,
            supersedes=supersedes,
        )
        return Memory.model_validate(await self._client.request("POST", "/v1/memories", json=body))

    async def add_many(self, memories: Sequence[Mapping[str, Any]]) -> list[Memory]:
        data = await self._client.request(
            "POST", "/v1/memories/batch", json={"memories": [dict(m) for m in memories]}
        )
        return [Memory.model_validate(m) for m in data["memories"]]

    async def get(self, memory_id: uuid.UUID | str) -> Memory:
        return Memory.model_validate(await self._client.request("GET", f"/v1/memories/{memory_id}"))

    async def update(
        self, memory_id: uuid.UUID | str, *, version: int | None = None, **fields: Any
    ) -> Memory:
        body = {**fields, "version": version}
        return Memory.model_validate(
            await self._client.request("PATCH", f"/v1/memories/{memory_id}", json=body)
        )

    async def delete(self, memory_id: uuid.UUID | str) -> None:
        await self._client.request("DELETE", f"/v1/memories/{memory_id}")

    async def history(self, memory_id: uuid.UUID | str) -> list[MemoryEvent]:
        data = await self._client.request("GET", f"/v1/memories/{memory_id}/history")
        return [MemoryEvent.model_validate(e) for e in data["events"]]

    async def links(self, memory_id: uuid.UUID | str) -> list[MemoryLink]:
        """Consolidation and contradiction links from or to a memory, newest first."""
        data = await self._client.request("GET", f"/v1/memories/{memory_id}/links")
        return [MemoryLink.model_validate(link) for link in data["links"]]

    async def list(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> MemoryPage:
        params = {**filters, "cursor": cursor, "limit": limit}
        return MemoryPage.model_validate(
            await self._client.request("GET", "/v1/memories", params=params)
        )

    async def iter(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Memory]:
        cursor = None
        while True:
            page = await self.list(cursor=cursor, limit=page_size, **filters)
            for item in page.items:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor
