"""The export line: one memory as one JSON object (JSON Lines, ``application/x-ndjson``).

Everything SQL holds about a memory travels, so an import recreates it exactly: id, text,
scope, metadata, timestamps, importance, pinned, access counts, the lifecycle fields and
the quantized embedding (base64 of the stored code, with its model, dimension, bits and
scale), so the indexes rebuild without re-embedding, and the lifecycle links it holds.
Not carried: the tenant (an import names its target), ``content_hash`` (derived), history.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from service.schemas import Content, Metadata, ScopeId, Strict, Timestamp, memory_fields
from storage.errors import InvalidInput
from storage.models import Memory, MemoryLink
from storage.quantization import code_bytes

Tier = Literal["hot", "warm", "cold", "archived"]
MAX_DIMENSION = 8192


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
    id: uuid.UUID
    content: Content
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    metadata: Metadata = Field(default_factory=dict)
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
    embedding: EmbeddingExport | None = None
    links: list[LinkExport] = Field(default_factory=list, max_length=1000)

    @classmethod
    def of(cls, row: Memory, links: Sequence[MemoryLink] = ()) -> MemoryExport:
        embedding = None
        if row.embedding is not None and row.embedding_dim:
            embedding = EmbeddingExport(
                model=row.embedding_model,
                dim=row.embedding_dim,
                bits=row.embedding_bits,  # 8, 4 or 1 in SQL
                scale=row.embedding_scale,
                data=base64.b64encode(row.embedding).decode("ascii"),
            )
        return cls(
            **memory_fields(row),
            stability=row.stability,
            embedding=embedding,
            links=[
                LinkExport(
                    other_id=link.other_id,
                    relation=link.relation,
                    detail=link.detail or {},
                    created_at=link.created_at,
                )
                for link in links
            ],
        )


def export_line(row: Memory, links: Sequence[MemoryLink] = ()) -> bytes:
    return MemoryExport.of(row, links).model_dump_json().encode() + b"\n"


def _problem_errors(exc: ValidationError) -> list[dict[str, object]]:
    return [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def parse_lines(lines: Iterable[bytes]) -> list[tuple[int, MemoryExport]]:
    """Validate every line (1-based numbers; blank lines are skipped) before anything is
    written. A bad line raises ``InvalidInput`` naming it, with ``line`` and ``errors``."""
    parsed: list[tuple[int, MemoryExport]] = []
    seen: dict[uuid.UUID, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = MemoryExport.model_validate_json(raw)
            if item.embedding is not None:
                item.embedding.payload()
        except ValidationError as exc:
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
    return parsed


__all__ = ["EmbeddingExport", "LinkExport", "MemoryExport", "export_line", "parse_lines"]
