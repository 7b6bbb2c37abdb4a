"""``POST /v1/admin/erasure/flush``: remove deleted text from the database files now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from service.auth import Admin, State
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
        "description": "SQLite could not checkpoint: a read older than the erasure is open.",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.post("/erasure/flush", response_model=ErasureFlushRead, responses=BUSY)
async def flush_erasure(_: Admin, state: State) -> ErasureFlushRead:
    """After a 200, no memory deleted before the call has its text in a database file
    (docs/reliability.md states what lies outside: PostgreSQL's WAL, backups, replicas).
    On PostgreSQL this rewrites the tables that hold text: reads and writes of each wait
    while it is rewritten. 503 if SQLite could not checkpoint (an older read still open)."""
    result = await run_in_threadpool(state.erasure.flush)
    if not result.complete:
        raise Unavailable(
            "The checkpoint could not complete: a read that began before the erasure is "
            "still open. Retry when it has finished."
        )
    return ErasureFlushRead(
        backend=result.backend, tables=list(result.tables), duration_ms=result.duration_ms
    )
