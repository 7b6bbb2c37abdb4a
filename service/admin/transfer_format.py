"""The export format: JSON Lines (``application/x-ndjson``), one memory per line, then an
end line ``{"type":"end","count":N}``.

Everything SQL holds about a memory travels, so an import recreates it exactly: id, text,
scope, metadata, timestamps, importance, pinned, access counts, the lifecycle fields and
the quantized embedding (base64 of the stored code, with its model, dimension, bits and
scale), so the indexes rebuild without re-embedding, and the lifecycle links it holds.
Not carried: the tenant (an import names its target), ``content_hash`` (derived), history.

The end line is how a reader tells a complete export from a cut one: a stream that stops
early (a dropped connection, a server error after the ``200``) has no end line, and the
importer and the SDK reject it. Writing a line needs no validation, so no stored memory can
make the export fail half-way; reading one validates it, with bounds no smaller than what
the server itself can store (a consolidation may hold any number of sources).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError

from service.schemas import Content, ScopeId, Strict, Timestamp
from service.validation import MAX_METADATA_BYTES, check_metadata
from storage.errors import InvalidInput
from storage.quantization import code_bytes

Tier = Literal["hot", "warm", "cold", "archived"]
MAX_DIMENSION = 8192
# consolidation stores its sources' shared metadata plus {"consolidated_from": n}
MAX_IMPORT_METADATA_BYTES = MAX_METADATA_BYTES + len(',"consolidated_from":') + 20
END = "end"


class TruncatedExport(InvalidInput):
    """The body is not a whole export: its end line is missing or counts other lines."""

    code = "truncated_export"


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    return check_metadata(value, limit=MAX_IMPORT_METADATA_BYTES)


ImportMetadata = Annotated[dict[str, Any], AfterValidator(_metadata)]


class EmbeddingExport(Strict):
    model: str = Field(max_length=100)
    dim: int = Field(ge=1, le=MAX_DIMENSION)
    bits: Literal[8, 4, 1]
    scale: float
    data: str = Field(description="base64 of the quantized code (storage.quantization)")

    def payload(self) -> bytes:
        """The decoded code; raises ``ValueError`` if it is not valid for ``dim`` and ``bits``."""
        try:
            raw = base64.b64decode(self.data, validate=True)
        except binascii.Error as exc:
            raise ValueError("embedding.data is not valid base64") from exc
        if len(raw) != code_bytes(self.bits, self.dim):
            raise ValueError(
                f"embedding.data holds {len(raw)} bytes; {self.bits}-bit codes of "
                f"{self.dim} dimensions take {code_bytes(self.bits, self.dim)}"
            )
        return raw


class LinkExport(Strict):
    """A lifecycle link from this memory: ``consolidates`` (this memory merged ``other_id``)
    or ``contradicts`` (this newer memory disagrees with ``other_id``)."""

    other_id: uuid.UUID
    relation: str = Field(min_length=1, max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: Timestamp


class MemoryExport(Strict):
    """One memory line, as an import reads it. ``links`` has no bound of its own: a
    consolidated memory links every source it merged (the body size limit bounds a line)."""

    id: uuid.UUID
    content: Content
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    metadata: ImportMetadata = Field(default_factory=dict)
    occurred_at: Timestamp
    created_at: Timestamp
    updated_at: Timestamp
    importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    pinned: bool = False
    access_count: Annotated[int, Field(ge=0)] = 0
    last_accessed_at: Timestamp | None = None
    strength: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    stability: Annotated[float, Field(gt=0.0)] = 1.0
    tier: Tier = "hot"
    version: Annotated[int, Field(ge=1)] = 1
    superseded_by: uuid.UUID | None = None
    expires_at: Timestamp | None = None
    replaced_by: uuid.UUID | None = None
    superseded_at: Timestamp | None = None
    valid_until: Timestamp | None = None
    embedding: EmbeddingExport | None = None
    links: list[LinkExport] = Field(default_factory=list)


def _time(value: datetime | None) -> str | None:
    # UTC-aware datetimes from storage.types.UTCDateTime; the "Z" form pydantic also writes
    return None if value is None else value.isoformat().replace("+00:00", "Z")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def export_line(row: Mapping[Any, Any], links: Sequence[Mapping[Any, Any]] = ()) -> bytes:
    """One memory as its export line, from its ``memory`` columns (column names, so
    ``metadata``) and its ``memory_link`` rows. Plain encoding, no validation: whatever
    SQL holds can be written."""
    embedding = row["embedding"]
    return (
        _encode(
            {
                "id": str(row["id"]),
                "content": row["content"],
                "user_id": row["user_id"],
                "agent_id": row["agent_id"],
                "session_id": row["session_id"],
                "metadata": row["metadata"] or {},
                "occurred_at": _time(row["occurred_at"]),
                "created_at": _time(row["created_at"]),
                "updated_at": _time(row["updated_at"]),
                "importance": row["importance"],
                "pinned": row["pinned"],
                "access_count": row["access_count"],
                "last_accessed_at": _time(row["last_accessed_at"]),
                "strength": row["strength"],
                "stability": row["stability"],
                "tier": row["tier"],
                "version": row["version"],
                "superseded_by": None
                if row["superseded_by"] is None
                else str(row["superseded_by"]),
                "expires_at": _time(row["expires_at"]),
                "replaced_by": None if row["replaced_by"] is None else str(row["replaced_by"]),
                "superseded_at": _time(row["superseded_at"]),
                "valid_until": _time(row["valid_until"]),
                "embedding": None
                if embedding is None or not row["embedding_dim"]
                else {
                    "model": row["embedding_model"],
                    "dim": row["embedding_dim"],
                    "bits": row["embedding_bits"],
                    "scale": row["embedding_scale"],
                    "data": base64.b64encode(embedding).decode("ascii"),
                },
                "links": [
                    {
                        "other_id": str(link["other_id"]),
                        "relation": link["relation"],
                        "detail": link["detail"] or {},
                        "created_at": _time(link["created_at"]),
                    }
                    for link in links
                ],
            }
        ).encode()
        + b"\n"
    )


def end_line(count: int) -> bytes:
    """The last line of a complete export: how many memory lines precede it."""
    return _encode({"type": END, "count": count}).encode() + b"\n"


def _end_count(raw: bytes, number: int) -> int | None:
    """The count of an end line, or ``None`` if ``raw`` is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("type") != END:
        return None
    count = value.get("count")
    if set(value) - {"type", "count"} or not isinstance(count, int) or isinstance(count, bool):
        raise InvalidInput(
            f'Line {number}: an end line is {{"type":"end","count":N}}.', line=number
        )
    return count


def _problem_errors(exc: ValidationError) -> list[dict[str, object]]:
    return [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def parse_lines(lines: Iterable[bytes]) -> list[tuple[int, MemoryExport]]:
    """Validate a whole export (1-based line numbers; blank lines are skipped) before
    anything is written. The last line must be the end line counting the memory lines
    before it, else ``TruncatedExport``; a bad line raises ``InvalidInput`` naming it,
    with ``line`` and ``errors``."""
    parsed: list[tuple[int, MemoryExport]] = []
    seen: dict[uuid.UUID, int] = {}
    ended: int | None = None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if ended is not None:
            raise InvalidInput(
                f"Line {number}: a line after the end line (line {ended}).", line=number
            )
        try:
            item = MemoryExport.model_validate_json(raw)
            if item.embedding is not None:
                item.embedding.payload()
        except ValidationError as exc:
            count = _end_count(raw, number)
            if count is not None:
                if count != len(parsed):
                    raise TruncatedExport(
                        f"Line {number}: the end line counts {count} memories, but "
                        f"{len(parsed)} lines precede it: the export is incomplete.",
                        line=number,
                        expected=count,
                        received=len(parsed),
                    ) from exc
                ended = number
                continue
            errors = _problem_errors(exc)
            first = errors[0]
            where = f" at {first['loc']}" if first["loc"] else ""
            raise InvalidInput(
                f"Line {number}: {first['msg']}{where}.", line=number, errors=errors
            ) from exc
        except ValueError as exc:
            raise InvalidInput(f"Line {number}: {exc}.", line=number) from exc
        links = [(link.other_id, link.relation) for link in item.links]
        if len(set(links)) != len(links):
            raise InvalidInput(f"Line {number}: a link appears twice.", line=number)
        if item.id in seen:
            raise InvalidInput(
                f"Line {number}: memory {item.id} already appears on line {seen[item.id]}.",
                line=number,
            )
        seen[item.id] = number
        parsed.append((number, item))
    if ended is None:
        raise TruncatedExport(
            f"The export has no end line after its {len(parsed)} memory lines: it was cut "
            'short (a complete export ends with {"type":"end","count":N}).',
            received=len(parsed),
        )
    return parsed


__all__ = [
    "EmbeddingExport",
    "LinkExport",
    "MemoryExport",
    "TruncatedExport",
    "end_line",
    "export_line",
    "parse_lines",
]
