"""Who a tenant key is (``Principal``) and the cache of recently verified keys."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: uuid.UUID
    tenant_name: str
    key_id: uuid.UUID


class PrincipalCache:
    """Recently verified keys (by hash, never the secret), so a request skips the key lookup.

    An entry lives ``ttl`` seconds. Revoking a key through this process calls ``invalidate``,
    so it stops working here at once; other processes drop it within ``ttl``.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        with self._lock:
            found = self._entries.get(key_hash)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self.ttl, principal)

    def invalidate(self, key_id: uuid.UUID) -> None:
        """Forget one key (revoked or changed): its next request is verified against SQL."""
        with self._lock:
            stale = [h for h, (_, p) in self._entries.items() if p.key_id == key_id]
            for key_hash in stale:
                del self._entries[key_hash]

    def invalidate_tenant(self, tenant_id: uuid.UUID) -> None:
        """Forget every key of a tenant (the tenant was removed or its keys rotated)."""
        with self._lock:
            stale = [h for h, (_, p) in self._entries.items() if p.tenant_id == tenant_id]
            for key_hash in stale:
                del self._entries[key_hash]
