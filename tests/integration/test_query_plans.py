"""The hot queries use the right index on a populated database (both backends).

Each statement is the one the repository really sends (compiled from the repository code
path), explained with ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN (FORMAT JSON)``
(PostgreSQL) after the statistics were refreshed as the server does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, and_, create_engine, insert, or_, select, update

from storage.db import refresh_statistics
from storage.models import Memory, MemoryClaim, MemoryEvent, Tenant
from storage.records import MemoryFilter
from storage.repositories.memories import INDEX_COLUMNS, filter_clauses
from tests.conftest import BACKENDS, create_database

ROWS = 20_000
BIG, SMALL = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(scope="module", params=BACKENDS)
def populated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, list[uuid.UUID]]]:
    tmp: Path = tmp_path_factory.mktemp(request.param)
    for url in create_database(request.param, tmp):
        engine = create_engine(url)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        ids = [uuid.uuid4() for _ in range(ROWS)]
        rows: list[dict[str, Any]] = [
            {
                "id": memory_id,
                "tenant_id": BIG if i % 10 else SMALL,
                "user_id": f"u{i % 3}",
                "content": f"turn {i} about hiking and coffee",
                "content_hash": f"{i:064d}",
                "meta": {"speaker": "Ana"},
                "occurred_at": start + timedelta(minutes=i),
                "created_at": start + timedelta(minutes=i),
                "updated_at": start + timedelta(minutes=i),
                "embedding": b"\x01" * 384,
                "embedding_dim": 384,
            }
            for i, memory_id in enumerate(ids)
        ]
        with engine.begin() as conn:
            conn.execute(insert(Tenant), [{"id": BIG, "name": "big"}, {"id": SMALL, "name": "s"}])
            conn.execute(insert(Memory), rows)
            conn.execute(
                insert(MemoryClaim),
                [
                    {
                        "tenant_id": r["tenant_id"],
                        "memory_id": r["id"],
                        "user_id": r["user_id"],
                        "subject": f"person{i % 500}",
                        "attribute": ("home", "workplace", "partner", "age")[i % 4],
                        "value": f"value{i}",
                    }
                    for i, r in enumerate(rows)
                ],
            )
            conn.execute(
                insert(MemoryEvent),
                [
                    {"tenant_id": r["tenant_id"], "memory_id": r["id"], "event": "created"}
                    for r in rows
                ],
            )
        refresh_statistics(engine)
        yield engine, ids
        engine.dispose()


def _plan(engine: Engine, stmt: Any) -> str:
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (FORMAT JSON) "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + str(compiled)).all()
    if engine.dialect.name == "sqlite":
        return "\n".join(str(row[-1]) for row in rows)
    return json.dumps(rows[0][0])


def test_rows_by_id_use_the_primary_key(populated: tuple[Engine, list[uuid.UUID]]) -> None:
    engine, ids = populated
    wanted = ids[100:110]
    for stmt in (
        select(Memory).where(Memory.id.in_(wanted)),  # get_many (search hits)
        select(*INDEX_COLUMNS).where(Memory.id.in_(wanted)),  # index_rows (neighbours)
        select(Memory).where(Memory.tenant_id == BIG, Memory.id == ids[101]),  # get
        update(Memory)  # record_access, after every search
        .where(Memory.tenant_id == BIG, Memory.id == ids[101])
        .values(access_count=Memory.access_count + 1),
    ):
        plan = _plan(engine, stmt)
        if engine.dialect.name == "sqlite":
            assert "USING INDEX sqlite_autoindex_memory_1" in plan or "PRIMARY KEY" in plan, plan
        else:
            assert "pk_memory" in plan and '"Seq Scan"' not in plan, plan


def test_a_scoped_page_and_the_feed_use_their_indexes(
    populated: tuple[Engine, list[uuid.UUID]],
) -> None:
    engine, _ = populated
    page = (
        select(Memory)
        .where(*filter_clauses(SMALL, MemoryFilter(user_id="u1")))
        .order_by(Memory.created_at, Memory.id)
        .limit(50)
    )
    plan = _plan(engine, page)
    assert "ix_memory_tenant_user_created" in plan, plan  # no sort of the whole scope
    assert "TEMP B-TREE" not in plan and '"Sort"' not in plan, plan
    feed = select(MemoryEvent).where(MemoryEvent.id > ROWS - 10).order_by(MemoryEvent.id)
    plan = _plan(engine, feed)
    if engine.dialect.name == "sqlite":
        assert "SEARCH memory_event USING INTEGER PRIMARY KEY" in plan, plan
    else:
        assert "pk_memory_event" in plan and '"Seq Scan"' not in plan, plan
    history = (
        select(MemoryEvent)
        .where(MemoryEvent.tenant_id == SMALL, MemoryEvent.memory_id == uuid.uuid4())
        .order_by(MemoryEvent.id)
    )
    assert "ix_memory_event_memory" in _plan(engine, history)


def test_the_write_path_finds_claims_by_their_index(
    populated: tuple[Engine, list[uuid.UUID]],
) -> None:
    """``SupersessionRepository.current_claimants``: a write's claims find the older memories
    that claim the same subject and attribute without reading the scope."""
    engine, _ = populated
    stmt = (
        select(MemoryClaim.memory_id)
        .where(
            MemoryClaim.tenant_id == BIG,
            or_(and_(MemoryClaim.subject == "person7", MemoryClaim.attribute == "workplace")),
            MemoryClaim.user_id == "u1",
            MemoryClaim.agent_id.is_(None),
        )
        .distinct()
    )
    plan = _plan(engine, stmt)
    assert "ix_memory_claim_lookup" in plan, plan
