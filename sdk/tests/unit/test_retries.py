"""The retry policy, against httpx's mock transport (no server)."""

from __future__ import annotations

import httpx
import pytest

from mnemonix_client import Mnemonix, TransportError


def test_retries_idempotent_calls_on_503_but_not_posts() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            return httpx.Response(
                503,
                json={
                    "type": "https://mnemonix.dev/problems/unavailable",
                    "status": 503,
                    "detail": "busy",
                },
            )
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    with Mnemonix(api_key="k", transport=httpx.MockTransport(handler), backoff=0.001) as mx:
        assert mx.memories.list().items == []
    assert calls == ["GET", "GET", "GET"]

    calls.clear()
    with (
        Mnemonix(api_key="k", transport=httpx.MockTransport(handler), backoff=0.001) as mx,
        pytest.raises(Exception) as error,
    ):
        mx.memories.add("x")
    assert calls == ["POST"] and getattr(error.value, "status", None) == 503

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        Mnemonix(
            api_key="k", transport=httpx.MockTransport(refuse), backoff=0.001, max_retries=2
        ) as mx,
        pytest.raises(TransportError),
    ):
        mx.memories.get("00000000-0000-0000-0000-000000000000")
