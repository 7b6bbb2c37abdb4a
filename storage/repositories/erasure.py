"""Erasure flush: after it, a deleted memory's text is in no database file.

What a delete leaves behind, and what removes it (docs/reliability.md, "Erasure"):

- **SQLite.** ``secure_delete=ON`` (``storage/db.py``) zeroes the deleted cells in the pages
  the delete rewrites, but in WAL mode those pages go to the ``-wal`` file, and the WAL still
  holds every older version of the page (the text) until it is reset. ``wal_checkpoint(
  TRUNCATE)`` copies the WAL's newest pages into the main file and truncates the WAL to zero
  bytes. It needs every reader to be on the newest snapshot and no writer at work; while it
  waits it holds back new writers, so it waits ``wait_ms`` at most and reports ``busy``
  (the caller retries) rather than stall the API behind a long read (an export).
- **PostgreSQL.** A deleted (or updated) tuple stays in its heap page, and a TOASTed value in
  the TOAST table, until the page is rewritten; plain ``VACUUM`` marks the space free without
  zeroing it. ``VACUUM FULL`` writes each table afresh (only live tuples), rebuilds its
  indexes and truncates the old files at commit. It holds an ACCESS EXCLUSIVE lock on each
  table while it runs (reads and writes of that table wait), so it is admin-triggered only,
  and it waits ``wait_ms`` at most for that lock (behind an open transaction; new queries
  queue behind the waiting VACUUM) before it reports the flush incomplete.
  The write-ahead log (``pg_wal``), base backups and replicas are outside its reach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
_HORIZON_PASSED = text(
    # no transaction older than the marker still runs anywhere in the cluster (a snapshot's
    # xmin, VACUUM FULL's own included, is the cluster's oldest running transaction), and no
    # session of this database holds a snapshot from before it (a repeatable-read reader,
    # an export); other roles' sessions show their xmin only to pg_read_all_stats members
    "SELECT pg_snapshot_xmin(pg_current_snapshot()) > CAST(:marker AS xid8)"
    " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND backend_xmin IS NOT NULL"
    " AND age(backend_xmin) >= age(xid(CAST(:marker AS xid8))))"
)
ERASED_TABLES = ("memory", "memory_event", "memory_link")
"""Tables that hold a memory's text or what was said about it (content, metadata, history)."""


@dataclass(frozen=True)
class FlushResult:
    complete: bool
    """False: not done within the wait (SQLite: an older reader or a writer held the WAL;
    PostgreSQL: an open transaction held a table's lock); retry."""
    backend: str
    tables: tuple[str, ...]
    """PostgreSQL: the tables rewritten."""
    duration_ms: float


def flush_erased(engine: Engine, *, wait_ms: int) -> FlushResult:
    """Remove deleted text from the database files (see the module docstring)."""
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        complete = _checkpoint_sqlite(engine, wait_ms=wait_ms)
        tables: tuple[str, ...] = ()
    else:
        tables = _vacuum_full(engine, wait_ms=wait_ms)
        complete = tables == ERASED_TABLES
    duration = round((time.perf_counter() - started) * 1000.0, 3)
    return FlushResult(complete, engine.dialect.name, tables, duration)


def _checkpoint_sqlite(engine: Engine, *, wait_ms: int) -> bool:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            # the busy handler also runs while the checkpoint waits for readers and writers
            cursor.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, log_frames, _ = cursor.fetchone() or (1, -1, -1)
        finally:
            cursor.execute("PRAGMA busy_timeout=30000")  # the pool's setting (storage/db.py)
            cursor.close()
    finally:
        raw.close()
    # the WAL is empty only if every frame was copied back and the file truncated
    return int(busy) == 0 and int(log_frames) in (0, -1)


def _vacuum_full(engine: Engine, *, wait_ms: int) -> tuple[str, ...]:
    """Rewrite each table; the ones done. First wait (``wait_ms`` at most, 0: no limit)
    until no snapshot can still see a row deleted before the call: VACUUM FULL copies such
    "recently dead" rows into the new files. Then a table whose lock is not granted within
    ``wait_ms`` stops the flush: while VACUUM FULL waits behind an open transaction, every
    new query on the table queues behind it, so it must not wait long."""
    done: list[str] = []
    deadline = time.monotonic() + wait_ms / 1000.0 if wait_ms > 0 else float("inf")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # a transaction id newer than every erasure acknowledged so far
        marker = conn.execute(text("SELECT pg_current_xact_id()::text")).scalar_one()
        while not conn.execute(_HORIZON_PASSED, {"marker": marker}).scalar_one():
            if time.monotonic() >= deadline:
                return ()
            time.sleep(0.05)
        conn.exec_driver_sql(f"SET lock_timeout = {int(wait_ms)}")
        try:
            for table in ERASED_TABLES:
                conn.exec_driver_sql(f"VACUUM (FULL) {table}")
                done.append(table)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
        finally:
            conn.exec_driver_sql("RESET lock_timeout")
    return tuple(done)
