"""Streamable HTTP at ``/mcp``, in the API's own app and process.

The endpoint resolves ``Authorization: Bearer <key>`` with the same lookup as REST (401
problem+json, before any MCP message is read, for a missing, unknown or revoked key) and
hands the request to the MCP SDK's session manager, which runs **stateless** with JSON
responses: every request stands alone, so any API process behind a load balancer can answer
it, and each tool call acts in the tenant of the key on *that* request. The session manager's
task group runs in the app's lifespan (``McpEndpoint.running``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from service.auth import authenticate
from service.mcp_server.local import LocalPort
from service.mcp_server.port import MemoryPort
from service.mcp_server.tools import build_mcp
from service.principals import Principal
from service.problems import domain_problem
from service.ratelimit import RateLimited
from service.state import AppState
from storage.errors import Unauthorized

PRINCIPAL = "mnemonix_principal"
MCP_PATH = "/mcp"


def _port_for(ctx: Context) -> MemoryPort:
    request = ctx.request_context.request
    if not isinstance(request, Request):
        raise RuntimeError("an MCP call over HTTP without its HTTP request")
    principal: Principal = getattr(request.state, PRINCIPAL)
    state: AppState = request.app.state.mnemonix
    return LocalPort(state, principal)


def _principal(request: Request, state: AppState) -> Principal:
    """The key's principal, as REST resolves it (401), with one token of its rate limit
    spent (429); the scopes each tool needs are checked by the port."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    principal = authenticate(state, token.strip())
    state.limiter.check(principal.key_id, principal.rate)
    return principal


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str) -> TransportSecuritySettings:
    """Served on a loopback address, ``/mcp`` accepts only loopback ``Host`` and ``Origin``
    headers (the DNS-rebinding check the MCP spec asks of local servers); served on another
    address it is reached by other names, and the bearer key is the guard."""
    if host not in LOOPBACK:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class McpEndpoint:
    """The ASGI app behind ``/mcp`` (GET, POST, DELETE)."""

    def __init__(self, *, host: str) -> None:
        self.server = build_mcp(_port_for)
        # streamable_http_app() builds the session manager (its Starlette app is not used:
        # this endpoint authenticates, then hands requests to the manager itself)
        self.server.streamable_http_app(
            stateless_http=True, json_response=True, transport_security=transport_security(host)
        )
        self.manager = self.server.session_manager

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        state: AppState = request.app.state.mnemonix
        try:
            principal = await run_in_threadpool(_principal, request, state)
        except (Unauthorized, RateLimited) as exc:
            response = domain_problem(request, exc)
            await response(scope, receive, send)
            return
        setattr(request.state, PRINCIPAL, principal)  # scope["state"]: the SDK's request sees it
        await self.manager.handle_request(scope, receive, send)
