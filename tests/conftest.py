"""Shared fixtures: real databases (a SQLite file and a fresh PostgreSQL database per test
module), migrated with Alembic, and the app over an in-process client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage import migrate

POSTGRES_ENV = "MNEMONIX_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def _postgres_base() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} must be set in CI: the PostgreSQL tests are required there")
    return url


def create_database(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database URL; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'mnemonix.db'}"
        migrate.upgrade(url)
        yield url
        return
    base = _postgres_base()
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"mnx_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from create_database(request.param, tmp_path)
