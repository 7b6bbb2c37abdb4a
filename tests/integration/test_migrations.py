"""Alembic: no drift between models and migrations; downgrade/upgrade round-trips."""

from __future__ import annotations

import uuid

from sqlalchemy import MetaData, create_engine, insert, inspect

from storage import migrate
from storage.db import build_sessionmaker
from storage.models import ApiKey
from storage.types import utcnow


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_no_drift_and_round_trip(database_url: str) -> None:
    migrate.check(database_url)  # raises if autogenerate would emit anything
    tables = _tables(database_url)
    assert {"memory", "memory_event", "tenant", "api_key"} <= tables
    migrate.downgrade(database_url, "base")
    assert _tables(database_url) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert _tables(database_url) == tables
    migrate.check(database_url)


def test_keys_made_before_scopes_keep_every_power(database_url: str) -> None:
    """0005 adds scopes, a binding and a rate limit to keys: an existing key gets all three
    scopes, no binding and the server's default limit, so it works exactly as before."""
    migrate.downgrade(database_url, "0004")
    engine = create_engine(database_url)
    tenant_id, key_id = uuid.uuid4(), uuid.uuid4()
    # the tables as 0004 left them, reflected (the models describe the head)
    as_stored = (lambda u: u.hex) if engine.dialect.name == "sqlite" else (lambda u: u)
    try:
        with engine.begin() as conn:
            tables = MetaData()
            tables.reflect(conn, only=["tenant", "api_key"])
            now = utcnow().replace(tzinfo=None) if engine.dialect.name == "sqlite" else utcnow()
            conn.execute(
                insert(tables.tables["tenant"]),
                {"id": as_stored(tenant_id), "name": "t", "policy": "{}", "created_at": now},
            )
            conn.execute(
                insert(tables.tables["api_key"]),
                {
                    "id": as_stored(key_id),
                    "tenant_id": as_stored(tenant_id),
                    "name": "old",
                    "prefix": "mnx_old",
                    "key_hash": "0" * 64,
                    "created_at": now,
                },
            )
        migrate.upgrade(database_url)
        with build_sessionmaker(engine)() as session:
            key = session.get(ApiKey, key_id)
            assert key is not None
            assert (key.scopes, key.user_id, key.agent_id) == ("read write delete", None, None)
            assert (key.rate_per_second, key.rate_burst) == (None, None)
    finally:
        engine.dispose()
