"""Bearer-key authentication: tenant keys for the memory API, the admin key for /v1/admin."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from service.state import AppState
from storage.errors import Forbidden, Unauthorized
from storage.repositories import ApiKeyRepository, TenantRepository


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


def tenant_principal(request: Request, state: State) -> Principal:
    raw = _bearer(request)
    with state.sessions() as session:
        key = ApiKeyRepository(session).active_by_secret(raw)
        tenant = TenantRepository(session).get(key.tenant_id) if key else None
        if key is None or tenant is None:
            raise Unauthorized("Unknown or revoked API key.")
        return Principal(tenant_id=tenant.id, tenant_name=tenant.name, key_id=key.id)


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
