"""Keeps every tenant's retrieval engine in step with SQL (the source of truth).

At start-up each tenant's engine is rebuilt from its committed rows. After every committed
write the request applies the change to the engine; writes made by other processes (the
lifecycle worker, a second API process) arrive through the ``memory_event`` change feed,
which ``sync`` follows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from channels.base import Channel, FloatArray
from channels.engine import IndexEntry, RetrievalEngine
from channels.registry import build_channels, weight_policy
from channels.semantic import TIER_BITS as INDEX_BITS
from service.settings import Settings
from storage.models import Memory
from storage.quantization import Code, decode, encode
from storage.repositories import MemoryRepository, TenantRepository
from storage.repositories.feed import FeedCursor, FeedEvent, FeedRepository

SYNC_BATCH = 1000
"""Memories whose rows one change-feed query reads at most."""


def entry_from_row(row: Memory) -> IndexEntry:
    """The row as the engine holds it: the embedding kept as a code at the search index's
    precision for the row's tier (so an archived memory costs its 48-byte 1-bit code in RAM,
    not a float vector; its finer stored code stays in SQL for re-scoring)."""
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
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="channel")
        self._feed = FeedCursor()
        self._applied: dict[uuid.UUID, int] = {}
        """memory id -> version last applied here, so the change feed skips our own writes."""
        self.ready = False

    def _new_engine(self) -> RetrievalEngine:
        channels: dict[str, Channel] = build_channels(dimension=self._dimension)
        search = self._settings.search
        return RetrievalEngine(
            channels,
            pool=self._pool,
            weights=search.weights,
            rrf_k=search.rrf_k,
            budget_ms=search.channel_budget_ms,
            weight_policy=weight_policy if search.adaptive else None,
            fetch_vectors=self._stored_vectors,
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

    def engine(self, tenant_id: uuid.UUID) -> RetrievalEngine:
        with self._lock:
            found = self._engines.get(tenant_id)
            if found is None:
                found = self._engines[tenant_id] = self._new_engine()
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
        self.ready = True

    def rebuild(self, tenant_id: uuid.UUID) -> int:
        with self._sessions() as session:
            rows = list(MemoryRepository(session).iter_tenant(tenant_id))
            # a consolidated source is served by its consolidated memory, not indexed itself
            entries = [entry_from_row(row) for row in rows if row.superseded_by is None]
            versions = {row.id: row.version for row in rows}
        engine = self._new_engine()
        engine.rebuild(entries)
        with self._lock:
            self._engines[tenant_id] = engine
        self._applied.update(versions)
        return len(entries)

    def apply(
        self,
        tenant_id: uuid.UUID,
        *,
        upserted: Iterable[Memory] = (),
        deleted: Sequence[uuid.UUID] = (),
    ) -> None:
        engine = self.engine(tenant_id)
        # never go back: a slower thread holding an older copy of a row must not undo a newer one
        rows = [r for r in upserted if r.version >= self._applied.get(r.id, 0)]
        superseded = [row for row in rows if row.superseded_by is not None]
        if superseded:
            rows = [row for row in rows if row.superseded_by is None]
            deleted = [*deleted, *(row.id for row in superseded)]
        if deleted:
            engine.remove(list(deleted))
            for memory_id in deleted:
                self._applied.pop(memory_id, None)
        if superseded:
            self._applied.update((row.id, row.version) for row in superseded)
        if rows:
            engine.upsert([entry_from_row(row) for row in rows])
            self._applied.update((row.id, row.version) for row in rows)

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
                        rows = MemoryRepository(session).get_many(tenant_id=tenant_id, ids=batch)
                    gone = [i for i in batch if i not in rows and i in self._applied]
                    stale = [r for r in rows.values() if self._applied.get(r.id) != r.version]
                    self.apply(tenant_id, upserted=stale, deleted=gone)
            # moved only once all is applied: an error above means the same read next time
            self._feed = self._feed.advance(snapshot, events)
        return len(events)

    def _behind(self, event: FeedEvent) -> bool:
        """Whether this index may not yet reflect ``event`` (else its row need not be read)."""
        applied = self._applied.get(event.memory_id)
        if event.event == "deleted":
            return applied is not None
        return applied is None or applied < event.version

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


IndexApplier = Callable[..., None]
