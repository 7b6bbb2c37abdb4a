"""Typed application state, built once at start-up (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.embedder import Embedder
from service.access import AccessTracker
from service.erasure import ErasureFlusher
from service.indexing import IndexRegistry
from service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    embedder: Embedder
    indexes: IndexRegistry
    access: AccessTracker
    erasure: ErasureFlusher
    extras: dict[str, object] = field(default_factory=dict)
