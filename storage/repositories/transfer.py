"""SQL for per-tenant export and import: keyset batches of plain columns out, bulk inserts in.

Both sides work on Core rows (column name -> value), not ORM objects: a 100k-memory tenant
moves through here, and the ORM's identity map and unit of work cost more than the SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, Table, exists, insert, or_, select
from sqlalchemy.orm import Session

from storage.models import Memory, MemoryEvent, MemoryLink

ID_CHUNK = 500
INSERT_CHUNK = 2000

MEMORY = cast(Table, Memory.__table__)
EVENT = cast(Table, MemoryEvent.__table__)
LINK = cast(Table, MemoryLink.__table__)
# what an export line carries: every column but the tenant and the derived content hash
EXPORT_COLUMNS = [c for c in MEMORY.c if c.name not in ("tenant_id", "content_hash")]


def _chunks(rows: Sequence[Mapping[str, Any]], size: int) -> list[list[Mapping[str, Any]]]:
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


class TransferRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def export_ids(self, tenant_id: uuid.UUID, *, now: datetime | None = None) -> list[uuid.UUID]:
        """Every memory id of the tenant, in id order: the export's plan, read once.

        Read ids first, rows by id later: a keyset page ``tenant_id = ? AND id > ? ORDER BY
        id`` has no ``(tenant_id, id)`` index to walk, so SQLite scans and sorts the whole
        tenant for every page (quadratic in the tenant's size); this sorts it once.
        """
        stmt = select(MEMORY.c.id).where(MEMORY.c.tenant_id == tenant_id).order_by(MEMORY.c.id)
        if now is not None:  # leave out what has expired by then
            stmt = stmt.where(or_(MEMORY.c.expires_at.is_(None), MEMORY.c.expires_at > now))
        return list(self.session.scalars(stmt))

    def export_rows(self, ids: Sequence[uuid.UUID]) -> Sequence[RowMapping]:
        """The rows of ``ids`` (from ``export_ids``) still stored, in id order, as column
        mappings (``metadata``, not the ``meta`` attribute).

        By primary key alone: with ``tenant_id = ?`` too, SQLite walks the tenant index
        instead, the whole tenant per batch. Ids are global and never change tenant.
        """
        if not ids:
            return []
        stmt = select(*EXPORT_COLUMNS).where(MEMORY.c.id.in_(list(ids))).order_by(MEMORY.c.id)
        return self.session.execute(stmt).mappings().all()

    def links_in_range(
        self, tenant_id: uuid.UUID, first: uuid.UUID, last: uuid.UUID
    ) -> dict[uuid.UUID, list[RowMapping]]:
        """The tenant's lifecycle links whose ``memory_id`` lies in ``[first, last]`` (one
        export batch), grouped by ``memory_id``, each group in insertion order."""
        stmt = (
            select(
                LINK.c.memory_id, LINK.c.other_id, LINK.c.relation, LINK.c.detail, LINK.c.created_at
            )
            .where(LINK.c.tenant_id == tenant_id, LINK.c.memory_id.between(first, last))
            .order_by(LINK.c.id)
        )
        found: dict[uuid.UUID, list[RowMapping]] = {}
        for link in self.session.execute(stmt).mappings():
            found.setdefault(link["memory_id"], []).append(link)
        return found

    def existing_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` are already stored (in any tenant: ids are global)."""
        found: set[uuid.UUID] = set()
        for start in range(0, len(ids), ID_CHUNK):
            chunk = list(ids[start : start + ID_CHUNK])
            found.update(self.session.scalars(select(MEMORY.c.id).where(MEMORY.c.id.in_(chunk))))
        return found

    def has_memories(self, tenant_id: uuid.UUID) -> bool:
        return bool(self.session.scalar(select(exists().where(MEMORY.c.tenant_id == tenant_id))))

    def insert_exact(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert memory rows as given, ``version`` included, in executemany chunks.

        A Core insert on purpose: the ORM would reset the optimistic-concurrency
        ``version`` of a new row to 1, and an import keeps it. Keys are column names
        (``metadata``, not the ``meta`` attribute); every row has the same keys.
        """
        for chunk in _chunks(rows, INSERT_CHUNK):
            self.session.execute(insert(MEMORY), chunk)

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """History rows (``memory_event`` columns but ``id``), in executemany chunks."""
        for chunk in _chunks(events, INSERT_CHUNK):
            self.session.execute(insert(EVENT), chunk)

    def add_links(self, links: Sequence[Mapping[str, Any]]) -> None:
        """Lifecycle links (``memory_link`` columns but ``id``), in executemany chunks."""
        for chunk in _chunks(links, INSERT_CHUNK):
            self.session.execute(insert(LINK), chunk)
