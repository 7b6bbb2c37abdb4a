"""Alembic: no drift between models and migrations; downgrade/upgrade round-trips."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from storage import migrate


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
