"""Rendering a context block: pure functions from chosen memories to text a model reads well.

Entries are grouped by conversation (``session_id``; memories without one by calendar day,
UTC), groups in chronological order of their first memory, memories chronological inside a
group. Each line carries its date-time, its speaker or source, the text, and a status mark
when the lifecycle found a contradiction (``current`` for the newer claim, ``outdated`` for
the older one).

Every piece is rendered on its own lines and joined with ``\\n``, so the block's token count
is the sum of its pieces' counts plus one per joining line break (``tokens.py``): the budget
fitting in ``select.py`` adds pieces up without re-counting the block.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Format = Literal["text", "markdown", "json"]
Status = Literal["current", "outdated"] | None


@dataclass(frozen=True, slots=True)
class Entry:
    id: uuid.UUID
    text: str
    occurred_at: datetime
    session_id: str | None
    speaker: str | None
    status: Status = None


GroupKey = tuple[str, str]
"""``("session", id)`` or ``("day", "2026-05-01")``."""


def group_key(entry: Entry) -> GroupKey:
    if entry.session_id is not None:
        return ("session", entry.session_id)
    return ("day", entry.occurred_at.date().isoformat())


def _when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="minutes")[:16]  # 2026-05-01 14:03


def _said(entry: Entry) -> str:
    text = " ".join(entry.text.split())  # one line per memory, whatever its own line breaks
    if entry.speaker:
        speaker = " ".join(entry.speaker.split())
        if not text.startswith(f"{speaker}:"):
            text = f"{speaker}: {text}"
    return text


def render_line(entry: Entry, fmt: Format) -> str:
    """One memory's line (in JSON, an array element with its trailing comma)."""
    if fmt == "json":
        item = {
            "date": entry.occurred_at.isoformat().replace("+00:00", "Z"),
            "session": entry.session_id,
            "speaker": entry.speaker,
            "text": entry.text,
            "status": entry.status,
        }
        compact = {k: v for k, v in item.items() if v is not None}
        return json.dumps(compact, ensure_ascii=False, separators=(",", ":")) + ","
    mark = f" ({entry.status})" if entry.status else ""
    if fmt == "markdown":
        return f"- **{_when(entry.occurred_at)}** {_said(entry)}{mark}"
    return f"[{_when(entry.occurred_at)}] {_said(entry)}{mark}"


def render_header(key: GroupKey, first: Entry, fmt: Format) -> str | None:
    if fmt == "json":
        return None  # every JSON item names its session and date itself
    day = first.occurred_at.date().isoformat()
    label = f"Session {' '.join(key[1].split())} ({day})" if key[0] == "session" else day
    return f"## {label}" if fmt == "markdown" else f"{label}:"


JSON_OPEN, JSON_CLOSE = "[", "]"
"""A JSON block is a JSON array: ``[``, one ``{...},`` line per memory (the last one without
its comma, one token less than the sum of the pieces), ``]``."""


def render(entries: Sequence[Entry], fmt: Format) -> str:
    """The block for ``entries`` (already chosen): grouped and ordered as the module says."""
    if not entries:
        return ""
    return "\n".join(block_pieces(entries, fmt))


def block_pieces(entries: Sequence[Entry], fmt: Format) -> list[str]:
    groups: dict[GroupKey, list[Entry]] = {}
    for entry in sorted(entries, key=lambda e: (e.occurred_at, str(e.id))):
        groups.setdefault(group_key(entry), []).append(entry)
    pieces: list[str] = [JSON_OPEN] if fmt == "json" else []
    for key, members in groups.items():  # dicts keep insertion order: chronological groups
        header = render_header(key, members[0], fmt)
        if header is not None:
            if pieces:
                pieces.append("")  # a blank line between groups
            pieces.append(header)
        pieces.extend(render_line(e, fmt) for e in members)
    if fmt == "json":
        pieces[-1] = pieces[-1].removesuffix(",")
        pieces.append(JSON_CLOSE)
    return pieces
