"""Repositories: all SQL lives here. They flush; the caller's unit of work commits."""

from storage.repositories.keys import ApiKeyRepository, TenantRepository
from storage.repositories.lifecycle import (
    LifecycleRunRepository,
    LifecycleScanRepository,
    LinkRepository,
)
from storage.repositories.memories import MemoryRepository

__all__ = [
    "ApiKeyRepository",
    "LifecycleRunRepository",
    "LifecycleScanRepository",
    "LinkRepository",
    "MemoryRepository",
    "TenantRepository",
]
