"""``POST /v1/admin/erasure/flush``: remove deleted text from the database files now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from service.auth import State
from service.problems import MEDIA_TYPE
from storage.errors import Unavailable

router = APIRouter(tags=["admin"])


class ErasureFlushRead(BaseModel):
    backend: str
    """``sqlite``: the WAL was checkpointed and truncated; ``postgresql``: ``VACUUM FULL``."""
    tables: list[str]
    """The tables rewritten (PostgreSQL), each under an exclusive lock while it ran."""
    duration_ms: float


BUSY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not done: an open transaction held the database; retry.",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.post("/erasure/flush", response_model=ErasureFlushRead, responses=BUSY)
async def flush_erasure(state: State) -> ErasureFlushRead:
    """After a 200, no memory deleted before the call has its text in a database file
    (docs/reliability.md states what lies outside: PostgreSQL's WAL, backups, replicas).
    On PostgreSQL this rewrites the tables that hold text: reads and writes of each wait
    while it is rewritten. 503 if an open transaction held it up for 10 s (SQLite: a read
    older than the erasure; PostgreSQL: the lock of a table), so the API never queues
    behind the flush for longer."""
    result = await run_in_threadpool(state.erasure.flush)
    if not result.complete:
        raise Unavailable(
            "The flush could not complete: an open transaction held the database (SQLite: a "
            "read older than the erasure; PostgreSQL: a table's lock for 10 s). Retry later."
        )
    return ErasureFlushRead(
        backend=result.backend, tables=list(result.tables), duration_ms=result.duration_ms
    )
