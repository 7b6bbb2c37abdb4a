"""Throw-away databases for tests and benchmarks: a SQLite file or a PostgreSQL database
created on a server and dropped afterwards (with any sessions still connected to it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(
    backend: str, directory: Path, postgres_url: str, *, prefix: str = "mnx_scratch"
) -> Iterator[str]:
    """Yield the URL of a new, empty database: ``directory/mnemonix.db`` for ``sqlite``, or a
    database named ``<prefix>_<random>`` on the server of ``postgres_url`` for ``postgres``.
    The PostgreSQL database is dropped on exit."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'mnemonix.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = make_url(postgres_url).set(database="postgres")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
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
