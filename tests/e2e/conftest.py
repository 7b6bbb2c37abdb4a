from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.helpers import auth, create_tenant_key, test_settings


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(test_settings(database_url, tmp_path))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.database_url = database_url  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def key(client: TestClient) -> str:
    return create_tenant_key(client.database_url, "acme")  # type: ignore[attr-defined]


@pytest.fixture
def headers(key: str) -> dict[str, str]:
    return auth(key)
