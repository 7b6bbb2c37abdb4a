"""Helpers shared by integration and e2e tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.settings import Settings
from storage.db import build_engine, build_sessionmaker, unit_of_work
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


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
