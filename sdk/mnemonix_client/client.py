"""The synchronous client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
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
from mnemonix_client.admin import Admin
from mnemonix_client.exceptions import TransportError
from mnemonix_client.models import (
    ContextBlock,
    Memory,
    MemoryEvent,
    MemoryLink,
    MemoryPage,
    SearchResult,
)


class Mnemonix(BaseClient):
    """Client for the Mnemonix REST API.

    >>> with Mnemonix(api_key="mnx_...") as mx:
    ...     mx.memories.add("I am allergic to peanuts", user_id="ann")
    ...     mx.search("what should I not eat?", user_id="ann").results[0].memory.content

    Args:
        api_key: the tenant's key (or the admin key for ``admin``); defaults to
            ``$MNEMONIX_API_KEY``. No key at all raises ``MnemonixError``.
        base_url: the server; defaults to ``$MNEMONIX_BASE_URL`` or ``http://127.0.0.1:8420``.
        timeout: seconds per HTTP request.
        max_retries: retries of idempotent calls (and ``search``) on 429, 503 and
            connection errors; creating and updating memories is never retried.
        backoff: the first retry's delay in seconds, doubled each time (with jitter),
            unless the server sends ``Retry-After``.
        transport: any ``httpx.BaseTransport`` (tests pass the app's in-process one).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
        )
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=self.timeout, transport=transport
        )
        self.memories = Memories(self)
        self.admin = Admin(self)
        """The admin API; needs the admin key as ``api_key``."""

    def __enter__(self) -> Mnemonix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
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
                response = self._http.request(
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
            time.sleep(self._delay(attempt, response))
            attempt += 1

    def stream_lines(self, method: str, path: str) -> Iterator[bytes]:
        """A streamed response's lines (not retried: a stream may be half consumed)."""
        try:
            with self._http.stream(method, path) as response:
                if response.status_code >= 400:
                    response.read()
                    self._parse(response)
                for line in response.iter_lines():
                    if line:
                        yield line.encode()
        except httpx.TransportError as exc:
            raise TransportError(str(exc)) from exc

    def search(
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
        """Search is read-only, so it is retried like an idempotent call. With ``max_tokens``
        only the best hits whose contents together fit that many tokens come back;
        ``min_relevance`` keeps only hits whose estimated relevance (a probability) is at
        least that: an empty result means nothing relevant is stored."""
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
            self.request("POST", "/v1/search", json=body, retry_post=True)
        )

    def context(
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
        """The memories most relevant to ``query`` that fit ``max_tokens``, as one block
        (``.context``) ready for a prompt; read-only, retried like search."""
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
            self.request("POST", "/v1/context", json=body, retry_post=True)
        )


class Memories:
    def __init__(self, client: Mnemonix) -> None:
        self._client = client

    def add(
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
        """Store one memory. ``expires_at`` or ``ttl_seconds`` (not both) make it expire;
        the tenant's write policy may redact (or reject) credentials it holds.
        ``supersedes``: ids of memories this one replaces (they leave default recall)."""
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
        return Memory.model_validate(self._client.request("POST", "/v1/memories", json=body))

    def add_many(self, memories: Sequence[Mapping[str, Any]]) -> list[Memory]:
        """Store up to 500 memories atomically (dicts with the fields of ``add``)."""
        data = self._client.request(
            "POST", "/v1/memories/batch", json={"memories": [dict(m) for m in memories]}
        )
        return [Memory.model_validate(m) for m in data["memories"]]

    def get(self, memory_id: uuid.UUID | str) -> Memory:
        return Memory.model_validate(self._client.request("GET", f"/v1/memories/{memory_id}"))

    def update(
        self, memory_id: uuid.UUID | str, *, version: int | None = None, **fields: Any
    ) -> Memory:
        """Change ``content``, ``metadata``, ``occurred_at``, ``importance``, ``pinned``, or
        the expiry: ``expires_at`` / ``ttl_seconds``, ``expires_at=NEVER`` to clear it;
        ``supersedes=[ids]`` adds memories this one replaces."""
        body = {**fields, "version": version}
        return Memory.model_validate(
            self._client.request("PATCH", f"/v1/memories/{memory_id}", json=body)
        )

    def delete(self, memory_id: uuid.UUID | str) -> None:
        self._client.request("DELETE", f"/v1/memories/{memory_id}")

    def history(self, memory_id: uuid.UUID | str) -> list[MemoryEvent]:
        data = self._client.request("GET", f"/v1/memories/{memory_id}/history")
        return [MemoryEvent.model_validate(e) for e in data["events"]]

    def links(self, memory_id: uuid.UUID | str) -> list[MemoryLink]:
        """Consolidation and contradiction links from or to a memory, newest first."""
        data = self._client.request("GET", f"/v1/memories/{memory_id}/links")
        return [MemoryLink.model_validate(link) for link in data["links"]]

    def list(self, *, cursor: str | None = None, limit: int = 50, **filters: Any) -> MemoryPage:
        """One page; filters: user_id, agent_id, session_id, metadata (dict), occurred_after/before."""
        params = {**filters, "cursor": cursor, "limit": limit}
        return MemoryPage.model_validate(self._client.request("GET", "/v1/memories", params=params))

    def iter(self, *, page_size: int = 100, **filters: Any) -> Iterator[Memory]:
        """Every matching memory, walking the cursor pagination."""
        cursor = None
        while True:
            page = self.list(cursor=cursor, limit=page_size, **filters)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor
