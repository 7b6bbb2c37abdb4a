"""Shared by the benchmark scripts: the API client set-up and small statistics."""

from __future__ import annotations

import os
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def api_key(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("MNEMONIX_API_KEY"):
        return os.environ["MNEMONIX_API_KEY"]
    key_file = Path(os.environ.get("MNEMONIX_DATA_DIR", "data")) / "default.key"
    if key_file.exists():
        return key_file.read_text().strip()
    raise SystemExit("No API key: pass --api-key, set MNEMONIX_API_KEY, or run `make run` first.")


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120.0
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def scratch_database(backend: str, tmp: Path, postgres: str) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``tmp``, or a PostgreSQL database created
    under the server URL ``postgres`` (ending in '/') and dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'mnemonix.db'}"
        return
    name = f"mnx_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres + name).render_as_string(hide_password=False)
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
