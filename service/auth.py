"""Bearer-key authentication: tenant keys for the memory API, the admin key for /v1/admin.

Both are HTTP bearer tokens; they are declared as two OpenAPI security schemes
(``TenantKey`` on the memory API, ``AdminKey`` on every ``/v1/admin`` route) so a generated
client knows which key each operation wants. The admin check is a dependency of the admin
router as a whole (``service/admin/router.py``), never repeated per route.

A tenant route names the scope it needs through its principal's type (``Reader``,
``Writer``, ``Deleter``; OpenAPI lists it on the operation's ``TenantKey`` requirement). A
key's binding (``Principal.binding``) is applied by the memory and search services, which
take it as a required argument, so no route can forget it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from service.principals import Binding, Principal
from service.ratelimit import Rate
from service.state import AppState
from storage.errors import Forbidden, Unauthorized
from storage.models import ApiKey
from storage.repositories import ApiKeyRepository, TenantRepository
from storage.repositories.keys import hash_key

tenant_bearer = HTTPBearer(
    scheme_name="TenantKey",
    description="A tenant API key (`mnx_...`): `Authorization: Bearer <key>`.",
    auto_error=False,
)
admin_bearer = HTTPBearer(
    scheme_name="AdminKey",
    description="The operator's admin key (`MNEMONIX_ADMIN_KEY`).",
    auto_error=False,
)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.mnemonix
    return state


State = Annotated[AppState, Depends(app_state)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    return token


def _principal(state: AppState, key: ApiKey, tenant_name: str) -> Principal:
    default = state.settings.rate_limit
    rate = Rate.of(key.rate_per_second, key.rate_burst) or Rate.of(
        default.per_second, default.burst
    )
    return Principal(
        tenant_id=key.tenant_id,
        tenant_name=tenant_name,
        key_id=key.id,
        scopes=frozenset(key.scopes.split()),
        binding=Binding(user_id=key.user_id, agent_id=key.agent_id),
        rate=rate,
    )


def authenticate(state: AppState, raw: str) -> Principal:
    """The key's principal (from the cache, else SQL); ``Unauthorized`` if unknown or revoked."""
    digest = hash_key(raw)
    cached = state.principals.get(digest)
    if cached is not None:
        return cached
    with state.sessions() as session:
        key = ApiKeyRepository(session).active_by_secret(raw)
        tenant = TenantRepository(session).get(key.tenant_id) if key else None
        if key is None or tenant is None:
            raise Unauthorized("Unknown or revoked API key.")
        principal = _principal(state, key, tenant.name)
    state.principals.put(digest, principal)
    return principal


def tenant_principal(
    security_scopes: SecurityScopes,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(tenant_bearer)],
) -> Principal:
    """Authenticate, spend one token of the key's rate limit (429 when empty), then check
    that the key holds the route's scopes (403)."""
    principal = authenticate(state, _token(credentials))
    state.limiter.check(principal.key_id, principal.rate)
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        raise Forbidden(f"This key lacks the {' and '.join(missing)} scope.", missing=missing)
    return principal


def require_admin(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_bearer)],
) -> None:
    raw = _token(credentials)
    admin = state.settings.admin_key
    if admin is None or not hmac.compare_digest(raw.encode(), admin.get_secret_value().encode()):
        # a valid tenant key is authenticated but not allowed here
        with state.sessions() as session:
            if ApiKeyRepository(session).active_by_secret(raw) is not None:
                raise Forbidden("This endpoint needs the admin key.")
        raise Unauthorized("Unknown admin key.")


Reader = Annotated[Principal, Security(tenant_principal, scopes=["read"])]
"""A tenant key with the ``read`` scope (get, list, history, links, search)."""
Writer = Annotated[Principal, Security(tenant_principal, scopes=["write"])]
"""A tenant key with the ``write`` scope (create, batch, patch)."""
Deleter = Annotated[Principal, Security(tenant_principal, scopes=["delete"])]
"""A tenant key with the ``delete`` scope."""
