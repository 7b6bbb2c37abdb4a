"""Who a tenant key is (``Principal``: its tenant, scopes, binding and rate limit) and the
cache of recently verified keys."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from service.ratelimit import Rate
from storage.errors import Forbidden
from storage.records import KEY_SCOPES


@dataclass(frozen=True, slots=True)
class Binding:
    """The ``user_id`` / ``agent_id`` a key is bound to (``None``: not bound on that field).

    A bound key reaches only memories with that scope: reads are filtered to it, a memory
    outside it is "not found" (its existence does not leak), and writes carry it.
    """

    user_id: str | None = None
    agent_id: str | None = None

    @property
    def bound(self) -> bool:
        return self.user_id is not None or self.agent_id is not None

    def admits(self, user_id: str | None, agent_id: str | None) -> bool:
        """Whether a memory with this scope is within reach."""
        return (self.user_id is None or user_id == self.user_id) and (
            self.agent_id is None or agent_id == self.agent_id
        )

    def narrow(self, user_id: str | None, agent_id: str | None) -> tuple[str | None, str | None]:
        """The scope a request may use: the binding fills what the request left out, and a
        request naming another scope is refused (``Forbidden``)."""
        return self._field("user_id", self.user_id, user_id), self._field(
            "agent_id", self.agent_id, agent_id
        )

    @staticmethod
    def _field(name: str, bound: str | None, asked: str | None) -> str | None:
        if bound is None or asked is None:
            return asked if bound is None else bound
        if asked != bound:
            raise Forbidden(f"This key is bound to one {name}; it cannot reach another.")
        return bound


UNBOUND = Binding()


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: uuid.UUID
    tenant_name: str
    key_id: uuid.UUID
    scopes: frozenset[str] = frozenset(KEY_SCOPES)
    binding: Binding = UNBOUND
    rate: Rate | None = None
    """The key's limit, or the server's default; ``None``: unlimited."""


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
