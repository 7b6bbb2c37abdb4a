"""A memory's valid and transaction time as the catalog holds it, and the views a search
takes of them (supersession: ``docs/memory-truth.md``)."""

from __future__ import annotations

from dataclasses import dataclass

INF = float("inf")


@dataclass(frozen=True, slots=True)
class Timeline:
    """A memory's valid and transaction time, epoch seconds (``INF``: open)."""

    valid_from: float = -INF
    valid_until: float = INF
    known_from: float = -INF
    known_until: float = INF
    replaced: bool = False


@dataclass(frozen=True, slots=True)
class TimeView:
    """Which memories a search sees. Default: the current ones (not replaced).
    ``as_of``: valid at that time. ``known_at``: known to the store at that time (both
    together: bi-temporal). ``include_superseded``: the others too (``known_at`` still
    holds: what the store did not know yet is never shown)."""

    include_superseded: bool = False
    as_of: float | None = None
    known_at: float | None = None


CURRENT = TimeView()
