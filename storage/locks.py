"""The cross-process lock that lets exactly one lifecycle runner work at a time.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
connection for the whole run; the server releases it if the process dies.
SQLite (and any other backend): a lease row in ``runner_lease`` taken under SQLite's write
lock (``BEGIN IMMEDIATE``), renewed after every batch, released at the end. A lease whose
holder died is taken over once it expires, or at once when the holder was a process on this
host that no longer exists.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, delete, select, text, update

from storage.db import build_sessionmaker, unit_of_work
from storage.models import RunnerLease
from storage.types import utcnow

LEASE_SECONDS = 120.0


class RunnerLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; never waits."""

    def renew(self) -> bool:
        """Keep holding it; False if it was lost (the caller must stop)."""

    def release(self) -> None: ...


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AdvisoryLock:
    def __init__(self, engine: Engine, name: str) -> None:
        digest = hashlib.sha256(name.encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._engine = engine
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        conn = self._engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def renew(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._conn.commit()
        finally:
            self._conn.close()
            self._conn = None


def _holder_gone(holder: str) -> bool:
    """True when the holder was a process on this host that has exited."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LeaseLock:
    def __init__(self, engine: Engine, name: str, *, seconds: float = LEASE_SECONDS) -> None:
        self._sessions = build_sessionmaker(engine)
        self._name = name
        self._ttl = timedelta(seconds=seconds)
        self.holder = holder_id()

    def acquire(self) -> bool:
        now = utcnow()
        with unit_of_work(self._sessions) as session:
            lease = session.scalar(select(RunnerLease).where(RunnerLease.name == self._name))
            if lease is None:
                session.add(
                    RunnerLease(
                        name=self._name,
                        holder=self.holder,
                        acquired_at=now,
                        expires_at=now + self._ttl,
                    )
                )
                return True
            if lease.expires_at > now and not _holder_gone(lease.holder):
                return False
            lease.holder, lease.acquired_at, lease.expires_at = self.holder, now, now + self._ttl
            return True

    def renew(self) -> bool:
        with unit_of_work(self._sessions) as session:
            result = session.execute(
                update(RunnerLease)
                .where(RunnerLease.name == self._name, RunnerLease.holder == self.holder)
                .values(expires_at=utcnow() + self._ttl)
            )
            return bool(getattr(result, "rowcount", 0))

    def release(self) -> None:
        with unit_of_work(self._sessions) as session:
            session.execute(
                delete(RunnerLease).where(
                    RunnerLease.name == self._name, RunnerLease.holder == self.holder
                )
            )


def runner_lock(engine: Engine, name: str = "lifecycle") -> RunnerLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, f"mnemonix:{name}")
    return LeaseLock(engine, name)
