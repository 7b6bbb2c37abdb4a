"""SQL for per-tenant export and import: keyset batches out, one bulk insert in."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from storage.models import Memory, MemoryLink

ID_CHUNK = 500


class TransferRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def export_batch(
        self, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[Memory]:
        """The next ``limit`` memories of the tenant in id order (keyset pagination on id)."""
        stmt = select(Memory).where(Memory.tenant_id == tenant_id)
        if after is not None:
            stmt = stmt.where(Memory.id > after)
        return list(self.session.scalars(stmt.order_by(Memory.id).limit(limit)))

    def existing_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` are already stored (in any tenant: ids are global)."""
        found: set[uuid.UUID] = set()
        for start in range(0, len(ids), ID_CHUNK):
            chunk = list(ids[start : start + ID_CHUNK])
            found.update(self.session.scalars(select(Memory.id).where(Memory.id.in_(chunk))))
        return found

    def insert_exact(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows as given, ``version`` included.

        A Core insert on purpose: the ORM would reset the optimistic-concurrency
        ``version`` of a new row to 1, and an import keeps it. Keys are column names
        (``metadata``, not the ``meta`` attribute).
        """
        if rows:
            table = Memory.__table__
            assert isinstance(table, Table)
            self.session.execute(insert(table), [dict(r) for r in rows])

    def links_from(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[MemoryLink]]:
        """Lifecycle links (consolidation, contradiction) whose ``memory_id`` is in ``ids``."""
        found: dict[uuid.UUID, list[MemoryLink]] = {}
        for start in range(0, len(ids), ID_CHUNK):
            chunk = list(ids[start : start + ID_CHUNK])
            stmt = select(MemoryLink).where(MemoryLink.memory_id.in_(chunk)).order_by(MemoryLink.id)
            for link in self.session.scalars(stmt):
                found.setdefault(link.memory_id, []).append(link)
        return found

    def add_links(self, links: Sequence[MemoryLink]) -> None:
        self.session.add_all(links)
        self.session.flush()
