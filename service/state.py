"""Typed application state, built once at start-up by ``service.app.build_state`` (never
module globals, never filled lazily)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.embedder import Embedder
from service.access import AccessTracker
from service.erasure import ErasureFlusher
from service.indexing import IndexRegistry
from service.metrics import Metrics
from service.principals import PrincipalCache
from service.ratelimit import RateLimiter
from service.settings import Settings
from storage.types import utcnow


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    embedder: Embedder
    indexes: IndexRegistry
    access: AccessTracker
    metrics: Metrics
    """This app's Prometheus registry and the rolling window of channel timings."""
    principals: PrincipalCache
    """Recently verified tenant keys."""
    limiter: RateLimiter
    """Per-key token buckets (in this process)."""
    erasure: ErasureFlusher
    """Marks erasing commits; flushes them out of the database files (SQLite: on a timer)."""
    clock: Callable[[], datetime] = utcnow
    """"Now" for expiry: when a TTL starts and what has expired (tests set a fixed clock)."""
