"""Typed application state, built once at start-up (never module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.embedder import Embedder
from service.access import AccessTracker
from service.indexing import IndexRegistry
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
    extras: dict[str, object] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    """"Now" for expiry: when a TTL starts and what has expired (tests set a fixed clock)."""
