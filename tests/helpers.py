"""Helpers shared by integration and e2e tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select

from service.settings import Settings
from storage.db import build_engine, build_sessionmaker, unit_of_work
from storage.models import Base
from storage.repositories import ApiKeyRepository, TenantRepository

ADMIN_KEY = "test-admin-key-0123456789"


def test_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "embedder": "hash",
        "admin_key": ADMIN_KEY,
        "bootstrap_tenant": None,
        "lifecycle": {"enabled": False},
    }
    values.update(overrides)
    return Settings(**values)


def create_tenant_key(database_url: str, name: str, **key: Any) -> str:
    """A new key of tenant ``name`` (created if missing); ``key``: scopes, user_id, ..."""
    engine = build_engine(database_url)
    try:
        with unit_of_work(build_sessionmaker(engine)) as session:
            tenant = TenantRepository(session).by_name(name) or TenantRepository(session).add(name)
            _, raw = ApiKeyRepository(session).create(tenant=tenant, **key)
        return raw
    finally:
        engine.dispose()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


BACKGROUND_COLUMNS = {("memory", "access_count"), ("memory", "last_accessed_at")}
"""Written by the server's background access flush (retrievals), not by the request itself."""


def database_fingerprint(database: str | Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 of all its rows (every column but
    ``BACKGROUND_COLUMNS``), in primary-key order: equal fingerprints, an unchanged database."""
    engine = create_engine(database) if isinstance(database, str) else database
    out: dict[str, tuple[int, str]] = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.c if (table.name, c.name) not in BACKGROUND_COLUMNS]
                rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
                digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
                out[table.name] = (len(rows), digest)
    finally:
        if isinstance(database, str):
            engine.dispose()
    return out


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
