"""Erase expired memories as a delete would: the row (content, embedding) leaves SQL, its
history keeps a ``deleted`` tombstone without content (``{"reason": "expired"}``), a
consolidation it took part in is undone. Reads stopped serving it at its expiry already;
this reclaims the space and takes it out of the indexes (through the change feed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from lifecycle.merge import dissolve
from storage.db import unit_of_work
from storage.repositories import MemoryRepository

BATCH = 500


def erase_expired(
    sessions: sessionmaker[Session],
    tenants: Iterable[uuid.UUID],
    *,
    now: datetime,
    dry_run: bool = False,
    batch: int = BATCH,
) -> int:
    """Erase every memory of ``tenants`` expired at ``now``, ``batch`` per transaction;
    returns how many (a dry run counts them and changes nothing)."""
    erased = 0
    for tenant_id in tenants:
        while True:
            if dry_run:
                with sessions() as session:
                    erased += MemoryRepository(session).count_expired(tenant_id, now=now)
                break
            with unit_of_work(sessions) as session:
                repo = MemoryRepository(session)
                rows = repo.expired(tenant_id, now=now, limit=batch)
                for row in rows:
                    dissolve(session, row, keep_row=False)
                    repo.scrub_history(tenant_id=tenant_id, memory_id=row.id)
                    repo.add_event(
                        memory=row,
                        event="deleted",
                        changes={"reason": "expired"},
                        actor="lifecycle",
                    )
                    repo.delete(row)
                erased += len(rows)
            if len(rows) < batch:
                break
    return erased
