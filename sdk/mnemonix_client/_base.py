"""What the sync and async clients share: configuration, request building, the retry
policy and response parsing. Only the I/O differs between the twins."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
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


def _clean(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
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
