"""What the sync and async admin APIs share: paths, parameters, the JSON Lines body and the
end-line check of an export stream."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from mnemonix_client.admin_models import ExportedMemory
from mnemonix_client.exceptions import TruncatedExport

NDJSON = "application/x-ndjson"
OnConflict = Literal["error", "skip"]
ImportSource = (
    str | os.PathLike[str] | bytes | Iterable[ExportedMemory | Mapping[str, Any] | str | bytes]
)
END_PREFIX = b'{"type":'


def tenant_path(name: str) -> str:
    return f"/v1/admin/tenants/{quote(name, safe='')}"


def key_body(
    name: str,
    scopes: Sequence[str] | None,
    user_id: str | None,
    agent_id: str | None,
    rate_limit: float | None,
    burst: int | None,
) -> dict[str, Any]:
    """The body of ``POST .../keys``: only what was given (the server fills the defaults)."""
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = list(scopes)
    if user_id is not None:
        body["user_id"] = user_id
    if agent_id is not None:
        body["agent_id"] = agent_id
    if rate_limit is not None:
        body["rate_limit"] = {"per_second": rate_limit, "burst": burst}
    return body


def import_params(create_tenant: bool, on_conflict: OnConflict) -> dict[str, Any]:
    return {"create_tenant": "true" if create_tenant else "false", "on_conflict": on_conflict}


def end_count(line: bytes) -> int | None:
    """The memory count of an end line (``{"type":"end","count":N}``), else ``None``."""
    if not line.lstrip().startswith(END_PREFIX):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("type") == "end":
        count = value.get("count")
        return count if isinstance(count, int) else -1
    return None


class EndCheck:
    """Follows an export stream: counts its memory lines and checks its end line.

    ``feed`` each line (without its newline) and get back whether it is a memory line;
    ``finish`` once the stream is over. Either raises ``TruncatedExport`` when the stream
    is not a whole export: no end line, a count that disagrees, or lines after the end.
    """

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.count = 0
        self.end: bytes | None = None

    def feed(self, line: bytes) -> bool:
        if self.end is not None:
            raise TruncatedExport(f"The export of {self.tenant!r} has lines after its end line.")
        expected = end_count(line)
        if expected is None:
            self.count += 1
            return True
        if expected != self.count:
            raise TruncatedExport(
                f"The export of {self.tenant!r} is incomplete: its end line counts {expected} "
                f"memories, {self.count} arrived."
            )
        self.end = line
        return False

    def finish(self) -> bytes:
        """The end line, once the stream is over; ``TruncatedExport`` if it never came."""
        if self.end is None:
            raise TruncatedExport(
                f"The export of {self.tenant!r} stopped after {self.count} memories without "
                "its end line: it was cut short."
            )
        return self.end


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
    """A path to a ``.jsonl`` file or raw bytes, sent as they are (an export written by
    ``export`` ends with its end line; without it the server refuses the import as cut
    short); or lines (models, dicts, or JSON strings), to which the end line counting them
    is added unless their last line already is one."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | os.PathLike):
        return Path(source).read_bytes()
    lines = [_line(item) for item in source]
    lines = [line for line in lines if line.strip()]
    if not lines or end_count(lines[-1]) is None:
        lines.append(
            json.dumps({"type": "end", "count": len(lines)}, separators=(",", ":")).encode()
        )
    return b"".join(line + b"\n" for line in lines)
