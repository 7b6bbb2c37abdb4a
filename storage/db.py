"""Engines and sessions. Built at start-up by the composition root, never module globals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError


def build_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # a failed statement's error text never carries client values
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        echo=echo,
        hide_parameters=True,  # a failed statement's error text never carries client values
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is off so that BEGIN IMMEDIATE below is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it is acknowledged (an acked write survives a crash).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # a deleted memory's text is overwritten in the database file, not left in free pages
    # (Debian's build defaults this on; others do not)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


WRITE = "mnemonix_write"
"""Execution option that marks a connection's transaction as a writer (``unit_of_work``)."""


def _sqlite_begin(connection: Any) -> None:
    # A writer takes the write lock up front: no deadlocking read-then-write upgrades between
    # processes. A reader starts a deferred transaction: in WAL mode it takes no lock at all,
    # so searches never queue behind one another or behind writes.
    if connection.get_execution_options().get(WRITE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def refresh_statistics(engine: Engine) -> None:
    """Keep the planner's statistics current: SQLite's ``PRAGMA optimize`` (runs ANALYZE
    where it pays), PostgreSQL's ``ANALYZE`` of the hot tables (autovacuum lags bulk loads)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA optimize")
        else:
            conn.exec_driver_sql("ANALYZE memory")
            conn.exec_driver_sql("ANALYZE memory_event")
        conn.commit()


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One writing transaction: commit on success, roll back on any error."""
    with batch(factory, dry_run=False) as session:
        yield session


@contextmanager
def batch(factory: sessionmaker[Session], *, dry_run: bool) -> Iterator[Session]:
    """One writing transaction that commits on success, or, for a dry run, does all its
    work (flushes and version checks included, so its report is the real one) and then
    rolls back. Any error rolls back. The one place a dry run is decided."""
    bind = factory.kw["bind"]
    session = factory(bind=bind.execution_options(**{WRITE: True}))
    try:
        yield session
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


WRITE_CONFLICT_STATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race."""


def is_write_conflict(exc: BaseException) -> bool:
    """True if a writing transaction failed only because another one changed the same rows
    (a stale version, or a PostgreSQL deadlock whose victim it was): retrying later is safe."""
    if isinstance(exc, StaleDataError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in (
        WRITE_CONFLICT_STATES
    )
