"""An httpx transport that runs each request through the app in-process."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient


class InProcess(httpx.BaseTransport):
    """Runs each request through the app in-process (Starlette's TestClient)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )
