"""``mnemonix mcp``: the MCP server over stdio, for local MCP hosts (Claude Desktop, Cursor...).

Two ways to reach the memories, the same tools either way:

- a running server (default): ``MNEMONIX_URL`` (default ``http://127.0.0.1:8420``) and
  ``MNEMONIX_API_KEY``, through the Python SDK; the key's tenant is the one served;
- ``--database-url``: the embedded store, opened in this process with the same services
  (and settings) as ``mnemonix serve``; the tenant is ``MNEMONIX_API_KEY``'s when that is set,
  else ``--tenant`` (default ``default``, created if missing). Other processes' writes to the
  same database arrive through the change feed, as in a second API process.

stdout carries the protocol only; everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.auth import authenticate
from service.mcp_server.port import MemoryPort
from service.mcp_server.tools import build_mcp
from service.principals import Principal
from service.settings import Settings
from service.state import AppState
from storage.db import unit_of_work
from storage.errors import Unauthorized
from storage.repositories import TenantRepository

logger = logging.getLogger("mnemonix")
FOLLOW_SECONDS = 2.0


class ClientSettings(BaseSettings):
    """Where ``mnemonix mcp`` finds a running server."""

    model_config = SettingsConfigDict(env_prefix="MNEMONIX_", extra="ignore")

    url: str = "http://127.0.0.1:8420"
    api_key: SecretStr | None = None

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class StdioError(Exception):
    """A start-up problem, reported on stderr with exit status 2."""


def _principal(state: AppState, *, api_key: SecretStr | None, name: str) -> Principal:
    """The key's principal (its scopes and binding hold here too); without a key, the whole
    of tenant ``name`` (created if missing): whoever runs the process owns the file."""
    if api_key is not None:
        try:
            return authenticate(state, api_key.get_secret_value())
        except Unauthorized:
            raise StdioError("MNEMONIX_API_KEY is not an active key of this database.") from None
    with unit_of_work(state.sessions) as session:
        tenants = TenantRepository(session)
        tenant = tenants.by_name(name) or tenants.add(name)
        return Principal(
            tenant_id=tenant.id,
            tenant_name=tenant.name,
            key_id=uuid.UUID(int=0),
            scopes=frozenset({"read", "write", "delete"}),
        )


async def _follow(state: AppState) -> None:
    """Flush access counts and apply other processes' writes, like ``mnemonix serve``."""
    while True:
        await anyio.sleep(FOLLOW_SECONDS)
        try:
            await anyio.to_thread.run_sync(state.access.flush)
            await anyio.to_thread.run_sync(state.indexes.sync)
        except Exception as exc:  # noqa: BLE001 - logged, the loop goes on
            logger.error("following the change feed failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def _embedded(
    settings: Settings, *, api_key: SecretStr | None, tenant: str
) -> AsyncIterator[MemoryPort]:
    from service.app import build_state
    from service.mcp_server.local import LocalPort

    state = await anyio.to_thread.run_sync(build_state, settings)
    try:
        principal = await anyio.to_thread.run_sync(
            lambda: _principal(state, api_key=api_key, name=tenant)
        )
        await anyio.to_thread.run_sync(state.indexes.rebuild_all)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_follow, state)
            yield LocalPort(state, principal)
            tasks.cancel_scope.cancel()
    finally:
        await anyio.to_thread.run_sync(state.access.flush)
        state.indexes.close()
        state.engine.dispose()


@contextlib.asynccontextmanager
async def _remote(client_settings: ClientSettings) -> AsyncIterator[MemoryPort]:
    from mnemonix_client import AsyncMnemonix
    from service.mcp_server.remote import RemotePort

    if client_settings.api_key is None:
        raise StdioError("Set MNEMONIX_API_KEY (and MNEMONIX_URL), or pass --database-url.")
    client = AsyncMnemonix(
        api_key=client_settings.api_key.get_secret_value(), base_url=client_settings.url
    )
    async with client:
        yield RemotePort(client)


async def serve_stdio(settings: Settings, *, database_url: str | None, tenant: str) -> None:
    client_settings = ClientSettings()
    if database_url:
        settings.database_url = database_url
        opened = _embedded(settings, api_key=client_settings.api_key, tenant=tenant)
    else:
        opened = _remote(client_settings)
    async with opened as port:
        await build_mcp(lambda ctx: port).run_stdio_async()


def run(settings: Settings, *, database_url: str | None, tenant: str) -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        anyio.run(lambda: serve_stdio(settings, database_url=database_url, tenant=tenant))
    except StdioError as exc:
        print(f"mnemonix mcp: {exc}", file=sys.stderr)
        return 2
    return 0
