"""Bearer-key authentication: tenant keys for the memory API, the admin key for /v1/admin.

Both are HTTP bearer tokens; they are declared as two OpenAPI security schemes
(``TenantKey`` on the memory API, ``AdminKey`` on every ``/v1/admin`` route) so a generated
client knows which key each operation wants. The admin check is a dependency of the admin
router as a whole (``service/admin/router.py``), never repeated per route.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.principals import Principal
from service.state import AppState
from storage.errors import Forbidden, Unauthorized
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


def tenant_principal(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(tenant_bearer)],
) -> Principal:
    raw = _token(credentials)
    digest = hash_key(raw)
    cached = state.principals.get(digest)
    if cached is not None:
        return cached
    with state.sessions() as session:
        key = ApiKeyRepository(session).active_by_secret(raw)
        tenant = TenantRepository(session).get(key.tenant_id) if key else None
        if key is None or tenant is None:
            raise Unauthorized("Unknown or revoked API key.")
        principal = Principal(tenant_id=tenant.id, tenant_name=tenant.name, key_id=key.id)
    state.principals.put(digest, principal)
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


Tenant = Annotated[Principal, Depends(tenant_principal)]
