"""What the sync and async clients share: configuration, request building, the retry
policy and response parsing. Only the I/O differs between the twins."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from mnemonix_client.exceptions import APIError, MnemonixError, error_for

DEFAULT_BASE_URL = "http://127.0.0.1:8420"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.25
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Never:
    """``expires_at=NEVER`` in an update clears a memory's expiry (sent as JSON null; a
    plain ``None`` means "not sent")."""

    def __repr__(self) -> str:
        return "NEVER"


NEVER: Any = _Never()


def _clean(value: Any) -> Any:
    if value is NEVER:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class BaseClient:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        key = api_key or os.environ.get("MNEMONIX_API_KEY")
        if not key:
            raise MnemonixError("No API key: pass api_key= or set MNEMONIX_API_KEY.")
        self.base_url = (
            base_url or os.environ.get("MNEMONIX_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._headers = {"Authorization": f"Bearer {key}", "User-Agent": "mnemonix-client/0.1"}

    def _request_kwargs(
        self,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if json_body is not None:
            kwargs["json"] = _clean(json_body)
        if content is not None:
            kwargs["content"] = content
            kwargs["headers"] = {"Content-Type": content_type or "application/octet-stream"}
        if params:
            clean = {}
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, dict):
                    value = json.dumps(value)
                elif isinstance(value, datetime):
                    value = value.isoformat()
                clean[key] = value
            kwargs["params"] = clean
        return kwargs

    def _should_retry(
        self, method: str, attempt: int, status: int | None, retry_post: bool
    ) -> bool:
        """Retry 429/503 and connection errors, for idempotent calls only."""
        if attempt >= self.max_retries or not (method in IDEMPOTENT or retry_post):
            return False
        return status is None or status in RETRY_STATUSES

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("retry-after", "")
            if after.isdigit():
                return min(float(after), 30.0)
        return self.backoff * (2.0**attempt) * (0.5 + random.random() / 2)

    @staticmethod
    def _parse(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:500]}
            if not isinstance(problem, dict):
                problem = {"detail": str(problem)}
            raise error_for(response.status_code, problem)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


__all__ = ["APIError", "BaseClient"]


def context_body(
    query: str,
    *,
    max_tokens: int,
    format: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    filters: Mapping[str, Any] | None,
    reference_time: datetime | None,
    candidates: int | None,
    include_hits: bool,
) -> dict[str, Any]:
    """The ``POST /v1/context`` body (``None`` fields are left out when sent)."""
    return {
        "query": query,
        "max_tokens": max_tokens,
        "format": format,
        "user_id": user_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "filters": dict(filters) if filters else None,
        "reference_time": reference_time,
        "candidates": candidates,
        "include_hits": include_hits,
    }


def search_body(
    query: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    filters: Mapping[str, Any] | None,
    limit: int,
    reference_time: datetime | None,
    channels: Sequence[str] | None,
    weights: Mapping[str, float] | None,
    explain: bool,
    max_tokens: int | None,
    include_superseded: bool,
    as_of: datetime | None,
    known_at: datetime | None,
    min_relevance: float,
) -> dict[str, Any]:
    """The ``POST /v1/search`` body (``None`` fields are left out when sent)."""
    return {
        "query": query,
        "user_id": user_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "filters": dict(filters) if filters else None,
        "limit": limit,
        "reference_time": reference_time,
        "channels": list(channels) if channels else None,
        "weights": dict(weights) if weights else None,
        "explain": explain,
        "max_tokens": max_tokens,
        "include_superseded": include_superseded or None,
        "as_of": as_of,
        "known_at": known_at,
        "min_relevance": min_relevance or None,
    }


def create_body(
    content: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    metadata: Mapping[str, Any] | None,
    occurred_at: datetime | None,
    importance: float | None,
    pinned: bool | None,
    expires_at: datetime | None,
    ttl_seconds: int | None,
    supersedes: Sequence[uuid.UUID | str] | None,
) -> dict[str, Any]:
    """The ``POST /v1/memories`` body (``None`` fields are left out when sent)."""
    return {
        "content": content,
        "user_id": user_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "metadata": dict(metadata) if metadata else None,
        "occurred_at": occurred_at,
        "importance": importance,
        "pinned": pinned,
        "expires_at": expires_at,
        "ttl_seconds": ttl_seconds,
        "supersedes": [str(i) for i in supersedes] if supersedes else None,
    }
