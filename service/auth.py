"""Bearer-key authentication: tenant keys for the memory API, the admin key for /v1/admin."""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from service.state import AppState
from storage.errors import Forbidden, Unauthorized
from storage.repositories import ApiKeyRepository, TenantRepository
from storage.repositories.keys import hash_key


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: uuid.UUID
    tenant_name: str
    key_id: uuid.UUID


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.mnemonix
    return state


State = Annotated[AppState, Depends(app_state)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    return token.strip()


class PrincipalCache:
    """Recently verified keys (by hash, never the secret), so a request skips the key lookup.

    An entry lives ``ttl`` seconds: a revoked key stops working within that time.
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


def tenant_principal(request: Request, state: State) -> Principal:
    raw = _bearer(request)
    cache: PrincipalCache = state.extras.setdefault("principals", PrincipalCache())  # type: ignore[assignment]
    digest = hash_key(raw)
    cached = cache.get(digest)
    if cached is not None:
        return cached
    with state.sessions() as session:
        key = ApiKeyRepository(session).active_by_secret(raw)
        tenant = TenantRepository(session).get(key.tenant_id) if key else None
        if key is None or tenant is None:
            raise Unauthorized("Unknown or revoked API key.")
        principal = Principal(tenant_id=tenant.id, tenant_name=tenant.name, key_id=key.id)
    cache.put(digest, principal)
    return principal


def require_admin(request: Request, state: State) -> None:
    raw = _bearer(request)
    admin = state.settings.admin_key
    if admin is None or not hmac.compare_digest(raw.encode(), admin.get_secret_value().encode()):
        # a valid tenant key is authenticated but not allowed here
        with state.sessions() as session:
            if ApiKeyRepository(session).active_by_secret(raw) is not None:
                raise Forbidden("This endpoint needs the admin key.")
        raise Unauthorized("Unknown admin key.")


Tenant = Annotated[Principal, Depends(tenant_principal)]
Admin = Annotated[None, Depends(require_admin)]
