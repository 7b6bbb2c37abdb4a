"""Per-tenant export and import as JSON Lines (``application/x-ndjson``)."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service.admin.schemas import ImportRead
from service.admin.tenants import tenant_by_name
from service.admin.transfer_format import parse_lines
from service.admin.transfer_service import OnConflict, export_lines, import_memories
from service.auth import State
from storage.errors import DomainError

NDJSON = "application/x-ndjson"
ACCEPTED_TYPES = {
    NDJSON,
    "application/jsonl",
    "application/json-lines",
    "application/json",
    "text/plain",
}

logger = logging.getLogger("mnemonix")
router = APIRouter(tags=["admin"])


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


@router.get(
    "/tenants/{name}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {NDJSON: {}},
            "description": "One JSON object per memory, then the end line.",
        }
    },
)
def export_tenant(name: str, state: State) -> StreamingResponse:
    """Stream every memory of the tenant, in id order, one JSON object per line, then the
    end line ``{"type":"end","count":N}``: a stream without it was cut short (the format is
    in docs/admin.md). Feed it to ``POST .../import`` to restore it."""
    tenant = tenant_by_name(state, name)
    return StreamingResponse(
        export_lines(state, tenant_id=tenant.id),
        media_type=NDJSON,
        headers={"Content-Disposition": f'attachment; filename="{tenant.name}.jsonl"'},
    )


async def _read_body(request: Request, limit: int) -> bytes:
    kind = request.headers.get("content-type", NDJSON).split(";")[0].strip().lower()
    if kind not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(f"Send the export as {NDJSON}, not {kind}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes; import in several requests.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/tenants/{name}/import",
    response_model=ImportRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {NDJSON: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_tenant(
    name: str,
    request: Request,
    state: State,
    create_tenant: Annotated[
        bool, Query(description="Create the tenant if it is missing.")
    ] = False,
    on_conflict: Annotated[
        OnConflict, Query(description="An id already stored: fail with 409, or skip it.")
    ] = "error",
) -> ImportRead:
    """Import an export, all or nothing: a body without its end line (a cut export) is a
    422 ``truncated-export``, a bad line a 422 naming the line, an id already stored a 409
    (or skipped with ``on_conflict=skip``), and nothing is written in any of these cases."""
    body = await _read_body(request, state.settings.limits.max_body_bytes)
    started = time.perf_counter()
    items = await run_in_threadpool(parse_lines, body.splitlines())
    logger.info(
        "import into %s: %d lines validated in %.2f s",
        name,
        len(items),
        time.perf_counter() - started,
    )
    return await run_in_threadpool(
        import_memories,
        state,
        tenant_name=name,
        items=items,
        on_conflict=on_conflict,
        create_tenant=create_tenant,
    )
