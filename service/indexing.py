"""Keeps every tenant's retrieval engine in step with SQL (the source of truth).

At start-up each tenant's engine is rebuilt from its committed rows. After every committed
write the request applies the change to the engine; writes made by other processes (the
lifecycle worker, a second API process) arrive through the ``memory_event`` change feed,
which ``sync`` follows.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from channels.base import Channel, FloatArray
from channels.engine import IndexEntry, RetrievalEngine
from channels.recall import Tuning
from channels.registry import build_channels, resolve_weights
from channels.semantic import INDEX_BITS
from channels.timeline import INF, Timeline
from service.settings import Settings
from storage.quantization import Code, decode, encode
from storage.repositories import MemoryRepository, TenantRepository
from storage.repositories.feed import FeedCursor, FeedEvent, FeedRepository

SYNC_BATCH = 1000
"""Memories whose rows one change-feed query reads at most."""

BULK = 1000
"""A batch this large (an import) hands the heap it freed back to the OS afterwards."""


class IndexedRow(Protocol):
    """What the engine reads of a memory row: an ORM ``Memory``, a Core row of
    ``INDEX_COLUMNS`` or any object with these attributes."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def superseded_by(self) -> uuid.UUID | None: ...

    @property
    def replaced_by(self) -> uuid.UUID | None: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def superseded_at(self) -> datetime | None: ...

    @property
    def valid_until(self) -> datetime | None: ...

    @property
    def content(self) -> str: ...

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def user_id(self) -> str | None: ...

    @property
    def agent_id(self) -> str | None: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def meta(self) -> dict[str, Any] | None: ...

    @property
    def tier(self) -> str: ...

    @property
    def embedding(self) -> bytes | None: ...

    @property
    def embedding_bits(self) -> int: ...

    @property
    def embedding_scale(self) -> float: ...

    @property
    def embedding_dim(self) -> int: ...

    @property
    def expires_at(self) -> datetime | None: ...


def expiry_seconds(expires_at: datetime | None) -> float:
    """The engine's expiry column: seconds since the epoch, 0.0 for never."""
    return 0.0 if expires_at is None else expires_at.timestamp()


def entry_from_row(row: IndexedRow) -> IndexEntry:
    """The row as the engine indexes it: the embedding kept as a code at the search index's
    precision for the row's tier (an archived memory is indexed by its 48-byte 1-bit code;
    its finer stored code stays in SQL for re-scoring)."""
    vector = None
    if row.embedding is not None and row.embedding_dim:
        vector = Code(row.embedding_bits, row.embedding_scale, row.embedding)
        bits = INDEX_BITS.get(row.tier, 8)
        if bits < vector.bits:
            vector = encode(decode(vector, row.embedding_dim), bits)
    return IndexEntry(
        id=row.id,
        content=row.content,
        occurred_at=row.occurred_at,
        user_id=row.user_id,
        agent_id=row.agent_id,
        session_id=row.session_id,
        metadata=row.meta or {},
        vector=vector,
        tier=row.tier,
        dimension=row.embedding_dim,
        version=row.version,
        expires=expiry_seconds(row.expires_at),
        timeline=timeline(row),
    )


def timeline(row: Any) -> Timeline:
    """A row's valid and transaction time, as the catalog filters on them."""
    replaced = row.replaced_by is not None
    return Timeline(
        valid_from=row.occurred_at.timestamp(),
        valid_until=row.valid_until.timestamp() if replaced and row.valid_until else INF,
        known_from=row.created_at.timestamp() if row.created_at is not None else -INF,
        known_until=row.superseded_at.timestamp() if replaced and row.superseded_at else INF,
        replaced=replaced,
    )


def placement(row: Any) -> IndexEntry:
    """Where a memory goes in the engine (id, scope, time, metadata), without its content."""
    return IndexEntry(
        id=row.id,
        content="",
        occurred_at=row.occurred_at,
        user_id=row.user_id,
        agent_id=row.agent_id,
        session_id=row.session_id,
        metadata=row.meta or {},
        version=row.version,
        expires=expiry_seconds(row.expires_at),
        timeline=timeline(row),
    )


class IndexRegistry:
    """Tenant id -> retrieval engine. Isolation is structural: one engine per tenant."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], dimension: int) -> None:
        self._settings = settings
        self._sessions = sessions
        self._dimension = dimension
        self._engines: dict[uuid.UUID, RetrievalEngine] = {}
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.search.pool_size, thread_name_prefix="channel"
        )
        self._feed = FeedCursor()
        self.search_slots = threading.BoundedSemaphore(settings.search.concurrency)
        """Admission for searches: at most ``search.concurrency`` computed at once."""
        self.ready = False

    def _new_engine(self, tenant_id: uuid.UUID) -> RetrievalEngine:
        channels: dict[str, Channel] = build_channels(dimension=self._dimension)
        search = self._settings.search
        return RetrievalEngine(
            channels,
            pool=self._pool,
            weights=resolve_weights(search.weights),
            rrf_k=search.rrf_k,
            budget_ms=search.channel_budget_ms,
            tuning=Tuning() if search.adaptive else Tuning(boosts=False, evidence=False),
            fetch_vectors=self._stored_vectors,
            load_entries=functools.partial(self._stored_entries, tenant_id),
        )

    def _stored_vectors(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[FloatArray, int]]:
        """Stored codes, decoded: the semantic channel re-scores its 1-bit shortlist with them."""
        with self._sessions() as session:
            rows = MemoryRepository(session).codes(ids)
        return {
            memory_id: (decode(Code(bits, scale, payload), dim), bits)
            for memory_id, bits, scale, payload, dim in rows
            if payload is not None and dim
        }

    def _stored_entries(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, IndexEntry]:
        """Committed entries read back by primary key: a write's neighbours, as context."""
        with self._sessions() as session:
            rows = MemoryRepository(session).index_rows(tenant_id=tenant_id, ids=ids)
        return {row.id: entry_from_row(row) for row in rows if row.superseded_by is None}

    def engine(self, tenant_id: uuid.UUID) -> RetrievalEngine:
        with self._lock:
            found = self._engines.get(tenant_id)
            if found is None:
                found = self._engines[tenant_id] = self._new_engine(tenant_id)
            return found

    def engines(self) -> dict[uuid.UUID, RetrievalEngine]:
        with self._lock:
            return dict(self._engines)

    def rebuild_all(self) -> None:
        with self._sessions() as session:
            self._feed = FeedRepository(session).start()  # before any row is read
            tenants = [t.id for t in TenantRepository(session).list()]
        for tenant_id in tenants:
            self.rebuild(tenant_id)
        release_free_memory()
        self.ready = True

    def rebuild(self, tenant_id: uuid.UUID) -> int:
        """Rebuild one tenant's engine from SQL, streamed: no row is held beyond its chunk."""
        engine = self._new_engine(tenant_id)
        with self._sessions() as keys, self._sessions() as docs:
            engine.rebuild(
                (placement(row) for row in MemoryRepository(keys).iter_placements(tenant_id)),
                docs_from=(
                    entry_from_row(row) for row in MemoryRepository(docs).iter_index_rows(tenant_id)
                ),
            )
        with self._lock:
            self._engines[tenant_id] = engine
        return len(engine)

    def apply(
        self,
        tenant_id: uuid.UUID,
        *,
        upserted: Iterable[IndexedRow] = (),
        deleted: Sequence[uuid.UUID] = (),
    ) -> None:
        engine = self.engine(tenant_id)
        rows = list(upserted)
        superseded = [row.id for row in rows if row.superseded_by is not None]
        deleted = [*deleted, *superseded]
        if deleted:
            engine.remove(deleted)
        live = [entry_from_row(row) for row in rows if row.superseded_by is None]
        if live:
            engine.upsert(live)
        if len(rows) >= BULK:
            release_free_memory()

    def applied_version(self, tenant_id: uuid.UUID, memory_id: uuid.UUID) -> int | None:
        """The version of ``memory_id`` this process indexed, or None if it is not indexed."""
        return self.engine(tenant_id).catalog.version(memory_id)

    def sync(self) -> int:
        """Apply changes committed by other processes since the last call (the change feed).

        Exact (``storage/repositories/feed.py``): every event committed before this call
        began is handled by it or was by an earlier one, once, whatever order ids committed
        in. Events of our own writes, already applied at their version, cost no row read.
        Returns how many events were new.
        """
        with self._sync_lock:
            with self._sessions() as session:
                snapshot, events = FeedRepository(session).read(self._feed)
            wanted: dict[uuid.UUID, dict[uuid.UUID, None]] = {}
            for event in events:
                if self._behind(event):
                    wanted.setdefault(event.tenant_id, {})[event.memory_id] = None
            for tenant_id, ids in wanted.items():
                listed = list(ids)
                for start in range(0, len(listed), SYNC_BATCH):
                    batch = listed[start : start + SYNC_BATCH]
                    with self._sessions() as session:
                        found = MemoryRepository(session).index_rows(tenant_id=tenant_id, ids=batch)
                    rows = {row.id: row for row in found}
                    indexed = {i: self.applied_version(tenant_id, i) for i in batch}
                    gone = [i for i in batch if i not in rows and indexed[i] is not None]
                    stale = [r for r in rows.values() if indexed[r.id] != r.version]
                    self.apply(tenant_id, upserted=stale, deleted=gone)
            # moved only once all is applied: an error above means the same read next time
            self._feed = self._feed.advance(snapshot, events)
        return len(events)

    def _behind(self, event: FeedEvent) -> bool:
        """Whether this index may not yet reflect ``event`` (else its row need not be read)."""
        applied = self.applied_version(event.tenant_id, event.memory_id)
        if event.event == "deleted":
            return applied is not None
        return applied is None or applied < event.version

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS after a rebuild (glibc keeps them otherwise, so
    a restarted process would hold the rebuild's transient rows as RSS for good)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
