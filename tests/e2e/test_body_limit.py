"""The body limit holds while the body is read: a chunked body (no Content-Length) is cut off
with a 413 problem as soon as it passes the limit, and the rest is never read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.helpers import ADMIN_KEY, auth, create_tenant_key, test_settings
from tests.server import running_server

LIMIT = 64 * 1024
CHUNK = 4096


async def _post_endless(app: Any, path: str, headers: dict[str, str]) -> tuple[int, list[Any]]:
    """POST a body of many times the limit, straight into the ASGI app; count the chunks it
    pulls. (Bounded, so that a regression fails the assertions instead of reading forever.)"""
    pulled = 0
    sent: list[Any] = []
    chunks = 16 * LIMIT // CHUNK

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        more = pulled < chunks
        return {
            "type": "http.request",
            "body": b"x" * CHUNK if pulled <= chunks else b"",
            "more_body": more,
        }

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [*raw_headers, (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return pulled, sent


@pytest.fixture
def small_limit_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = test_settings(database_url, tmp_path, limits={"max_body_bytes": LIMIT})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.database_url = database_url  # type: ignore[attr-defined]
        yield client


@pytest.mark.parametrize(
    ("path", "admin"),
    [
        ("/v1/memories", False),
        ("/v1/memories/batch", False),
        ("/v1/admin/tenants/acme/import", True),
    ],
)
def test_a_long_chunked_body_is_cut_off_at_the_limit(
    small_limit_client: TestClient, path: str, admin: bool
) -> None:
    key = create_tenant_key(small_limit_client.database_url, "acme")  # type: ignore[attr-defined]
    headers = {
        **(auth(ADMIN_KEY) if admin else auth(key)),
        "content-type": "application/x-ndjson" if admin else "application/json",
    }
    portal = small_limit_client.portal
    assert portal is not None
    pulled, sent = portal.call(_post_endless, small_limit_client.app, path, headers)
    # the first chunk past the limit ends it: nothing more is read, nothing is buffered
    assert pulled == LIMIT // CHUNK + 1
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert response_headers["content-type"].startswith("application/problem+json")
    assert response_headers["connection"] == "close"
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    problem = json.loads(body)
    assert problem["status"] == 413 and str(LIMIT) in problem["detail"]


def test_a_body_within_the_limit_still_works(
    small_limit_client: TestClient, database_url: str
) -> None:
    key = create_tenant_key(database_url, "acme")

    def chunks() -> Iterator[bytes]:  # chunked, no Content-Length
        yield b'{"content": "'
        yield b"y" * 30_000  # over half the limit, in one chunk
        yield b'"}'

    response = small_limit_client.post(
        "/v1/memories",
        content=chunks(),
        headers={**auth(key), "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert (
        small_limit_client.get(f"/v1/memories/{response.json()['id']}", headers=auth(key)).json()[
            "content"
        ]
        == "y" * 30_000
    )


def test_a_real_server_stops_a_100_mb_chunked_upload_early(
    database_url: str, tmp_path: Path
) -> None:
    key = create_tenant_key(database_url, "acme")
    limit = 1024 * 1024
    total = 100 * 1024 * 1024
    produced = 0

    def hundred_megabytes() -> Iterator[bytes]:
        nonlocal produced
        yield b'{"content": "'
        piece = b"z" * 65536
        while produced < total:
            produced += len(piece)
            yield piece
        yield b'"}'

    env = {
        "MNEMONIX_DATABASE_URL": database_url,
        "MNEMONIX_EMBEDDER": "hash",
        "MNEMONIX_BOOTSTRAP_TENANT": "",
        "MNEMONIX_LIMITS__MAX_BODY_BYTES": str(limit),
    }
    with running_server(tmp_path, env) as base:
        response = httpx.post(
            f"{base}/v1/memories",
            content=hundred_megabytes(),
            headers={**auth(key), "content-type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 413
        # the server answered and hung up long before the client could send it all
        assert produced < total // 4, produced
        assert httpx.get(f"{base}/v1/memories", headers=auth(key)).json()["items"] == []
