"""Fixtures that need the server: the app in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from mnemonix_client import AsyncMnemonix, Mnemonix
from sdk.tests.server.inprocess import InProcess
from service.app import create_app
from tests.conftest import (
    BACKENDS,
    create_database,
    database_url,  # noqa: F401  (the SQLite + PostgreSQL fixture)
)
from tests.helpers import create_tenant_key, test_settings


@pytest.fixture
def app_client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:  # noqa: F811
    app = create_app(test_settings(database_url, tmp_path))
    with TestClient(app) as client:
        yield client, create_tenant_key(database_url, "sdk")


@pytest.fixture(scope="module", params=BACKENDS)
def module_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    """One app per test module and backend; tests take a fresh tenant (``tenant_clients``)."""
    tmp = tmp_path_factory.mktemp("app")
    database = create_database(str(request.param), tmp)
    url = next(database)
    try:
        with TestClient(create_app(test_settings(url, tmp))) as client:
            yield client, url
    finally:
        database.close()


def clients_for(client: TestClient, key: str) -> tuple[Mnemonix, AsyncMnemonix]:
    """A sync and an async SDK client for ``key``, both running the app in-process."""
    return (
        Mnemonix(api_key=key, base_url="http://testserver", transport=InProcess(client)),
        AsyncMnemonix(
            api_key=key,
            base_url="http://testserver",
            transport=httpx.ASGITransport(app=client.app),
        ),
    )


@pytest.fixture
def tenant_clients(
    module_app: tuple[TestClient, str],
) -> Iterator[tuple[Mnemonix, AsyncMnemonix]]:
    """Clients of a tenant of their own."""
    client, url = module_app
    sync, async_ = clients_for(client, create_tenant_key(url, f"t-{uuid.uuid4().hex[:12]}"))
    with sync:
        yield sync, async_
