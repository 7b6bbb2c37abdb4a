"""Which of a catalog's keys have expired at a given instant, and for how long that answer
holds: the expiry column is scanned once (vectorised) and the answer reused by every search
until the catalog changes or the next expiry passes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(slots=True)
class Expired:
    """The keys expired at ``since`` (``keys``, and ``dead`` as a mask over all keys), valid
    while the catalog stays at ``version`` and ``since <= now < until`` (the next expiry);
    ``live`` (the alive keys not expired) is filled on demand."""

    version: int
    since: float
    until: float
    keys: npt.NDArray[np.intp]
    dead: npt.NDArray[np.bool_]
    live: npt.NDArray[np.intp] | None = None

    def holds(self, version: int, now: float) -> bool:
        """Whether this answer is still exact for ``now`` at catalog ``version`` (a clock
        set back recomputes)."""
        return self.version == version and self.since <= now < self.until


def expired_at(
    expires: npt.NDArray[np.float64], alive: npt.NDArray[np.bool_], now: float, version: int
) -> Expired:
    """Keys alive with an expiry (seconds since the epoch; 0 = never) at or before ``now``."""
    expiring = (expires > 0) & alive
    dead = expiring & (expires <= now)
    later = expires[expiring & ~dead]
    return Expired(
        version=version,
        since=now,
        until=float(later.min()) if later.size else float("inf"),
        keys=np.flatnonzero(dead),
        dead=dead,
    )
