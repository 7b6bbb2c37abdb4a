"""What the sync and async admin APIs share: paths, parameters and the JSON Lines body."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from mnemonix_client.admin_models import ExportedMemory

NDJSON = "application/x-ndjson"
OnConflict = Literal["error", "skip"]
ImportSource = (
    str | os.PathLike[str] | bytes | Iterable[ExportedMemory | Mapping[str, Any] | str | bytes]
)


def tenant_path(name: str) -> str:
    return f"/v1/admin/tenants/{quote(name, safe='')}"


def import_params(create_tenant: bool, on_conflict: OnConflict) -> dict[str, Any]:
    return {"create_tenant": "true" if create_tenant else "false", "on_conflict": on_conflict}


def _line(item: ExportedMemory | Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(item, bytes):
        return item.rstrip(b"\n")
    if isinstance(item, str):
        return item.rstrip("\n").encode()
    if isinstance(item, ExportedMemory):
        text: str = item.model_dump_json(exclude_unset=True)
        return text.encode()
    return json.dumps(dict(item), separators=(",", ":")).encode()


def ndjson_body(source: ImportSource) -> bytes:
    """A path to a ``.jsonl`` file, raw bytes, or lines (models, dicts, or JSON strings)."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | os.PathLike):
        return Path(source).read_bytes()
    return b"".join(_line(item) + b"\n" for item in source)
