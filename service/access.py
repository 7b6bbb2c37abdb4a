"""Retrieval counts, batched: searches record hits in memory, a flush writes them to SQL.

Access feeds the lifecycle's spaced reinforcement; batching keeps writes off the search path.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.repositories import MemoryRepository
from storage.types import utcnow


class AccessTracker:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._pending: dict[uuid.UUID, Counter[uuid.UUID]] = {}
        self._lock = threading.Lock()

    def record(self, tenant_id: uuid.UUID, memory_ids: list[uuid.UUID]) -> None:
        if not memory_ids:
            return
        with self._lock:
            self._pending.setdefault(tenant_id, Counter()).update(memory_ids)

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        now = utcnow()
        try:
            with unit_of_work(self._sessions) as session:
                repo = MemoryRepository(session)
                for tenant_id, counts in sorted(pending.items()):
                    repo.record_access(tenant_id=tenant_id, counts=dict(counts), at=now)
        except Exception:
            with self._lock:  # not lost: the next flush writes them
                for tenant_id, counts in pending.items():
                    self._pending.setdefault(tenant_id, Counter()).update(counts)
            raise
        return sum(len(c) for c in pending.values())
