from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.conftest import database_url  # noqa: F401  (the SQLite + PostgreSQL fixture)
from tests.helpers import create_tenant_key, test_settings


@pytest.fixture
def app_client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:  # noqa: F811
    app = create_app(test_settings(database_url, tmp_path))
    with TestClient(app) as client:
        yield client, create_tenant_key(database_url, "sdk")
