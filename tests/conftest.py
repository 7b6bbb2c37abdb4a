"""Shared fixtures: real databases (a SQLite file and a fresh PostgreSQL database per test
module), migrated with Alembic, and the app over an in-process client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import migrate
from storage.scratch import scratch_database

POSTGRES_ENV = "MNEMONIX_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def _postgres_base() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} must be set in CI: the PostgreSQL tests are required there")
    return url


def create_database(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database URL; dropped afterwards."""
    base = None if backend == "sqlite" else _postgres_base()
    if backend != "sqlite" and not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with scratch_database(backend, tmp, base or "", prefix="mnx_test") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)
