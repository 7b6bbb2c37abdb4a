"""Erasure: what a delete leaves on disk is removed within a stated bound.

SQLite: every erasing commit (a memory deleted, with its history scrubbed) marks the
database; the background loop checkpoints it (``wal_checkpoint(TRUNCATE)``) within
``erasure.flush_seconds``, and retries while an older reader holds the WAL. PostgreSQL:
only ``POST /v1/admin/erasure/flush`` (``VACUUM FULL`` of the tables that hold text), since
its lock is an operator's decision. The guarantee and its limits: docs/reliability.md.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from storage.repositories.erasure import FlushResult, flush_erased

logger = logging.getLogger("mnemonix")

BACKGROUND_WAIT_MS = 200
"""How long the background checkpoint waits for readers and writers before it tries again
(while it waits, new writers wait too)."""
ADMIN_WAIT_MS = 10_000


class ErasureFlusher:
    """Remembers that something was erased and not yet flushed from the database files."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending = False
        self._lock = threading.Lock()  # one flush at a time in this process

    @property
    def automatic(self) -> bool:
        """True where the background loop flushes (SQLite); PostgreSQL needs the admin call."""
        return self._engine.dialect.name == "sqlite"

    @property
    def pending(self) -> bool:
        return self._pending

    def erased(self) -> None:
        """Called after an erasing commit."""
        if self.automatic:
            self._pending = True

    def flush_pending(self) -> bool:
        """The background step: checkpoint if something was erased; False if it must retry."""
        if not self._pending:
            return True
        self._pending = False  # an erasure committed from now on asks for another flush
        with self._lock:
            result = flush_erased(self._engine, wait_ms=BACKGROUND_WAIT_MS)
        if not result.complete:
            self._pending = True
            logger.info("erasure flush postponed: a reader or writer holds the WAL")
        return result.complete

    def flush(self) -> FlushResult:
        """The admin call: flush now, whatever is pending (waits up to ``ADMIN_WAIT_MS``)."""
        pending, self._pending = self._pending, False
        with self._lock:
            result = flush_erased(self._engine, wait_ms=ADMIN_WAIT_MS)
        if not result.complete:
            self._pending = self._pending or pending or self.automatic
        return result
