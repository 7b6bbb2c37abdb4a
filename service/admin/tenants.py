"""Tenants, their API keys, and rebuilding tenants' indexes from SQL."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Response, status

from service.admin.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRead,
    RateLimit,
    ReindexRead,
    ReindexRequest,
    TenantCreate,
    TenantList,
    TenantRead,
)
from service.auth import State
from service.state import AppState
from storage.db import unit_of_work
from storage.errors import Conflict, NotFound
from storage.models import ApiKey, Tenant
from storage.records import KEY_SCOPES
from storage.repositories import ApiKeyRepository, TenantRepository
from storage.repositories.admin import AdminRepository
from storage.types import utcnow

router = APIRouter(tags=["admin"])


def tenant_by_name(state: AppState, name: str) -> Tenant:
    with state.sessions() as session:
        tenant = TenantRepository(session).by_name(name)
    if tenant is None:
        raise NotFound(f"No tenant named {name!r}.")
    return tenant


def _key_read(key: ApiKey) -> ApiKeyRead:
    rate = (
        RateLimit(per_second=key.rate_per_second, burst=key.rate_burst)
        if key.rate_per_second is not None
        else None
    )
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        scopes=[s for s in KEY_SCOPES if s in key.scopes.split()],
        user_id=key.user_id,
        agent_id=key.agent_id,
        rate_limit=rate,
    )


@router.get("/tenants", response_model=TenantList)
def list_tenants(state: State) -> TenantList:
    with state.sessions() as session:
        rows = AdminRepository(session).tenants_with_counts()
    return TenantList(
        items=[
            TenantRead(id=t.id, name=t.name, created_at=t.created_at, memories=n) for t, n in rows
        ]
    )


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantRead)
def create_tenant(body: TenantCreate, state: State) -> TenantRead:
    with unit_of_work(state.sessions) as session:
        tenants = TenantRepository(session)
        if tenants.by_name(body.name) is not None:
            raise Conflict(f"Tenant {body.name!r} already exists.")
        tenant = tenants.add(body.name)
    return TenantRead(id=tenant.id, name=tenant.name, created_at=tenant.created_at, memories=0)


@router.get("/tenants/{name}/keys", response_model=ApiKeyList)
def list_keys(name: str, state: State) -> ApiKeyList:
    """The tenant's keys, revoked ones included; never a secret."""
    tenant = tenant_by_name(state, name)
    with state.sessions() as session:
        keys = ApiKeyRepository(session).list(tenant.id)
    return ApiKeyList(items=[_key_read(k) for k in keys])


@router.post(
    "/tenants/{name}/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated
)
def create_key(name: str, state: State, body: ApiKeyCreate | None = None) -> ApiKeyCreated:
    """A new key for the tenant. The secret is in this response only; the server keeps its hash.

    ``scopes`` narrow what it may do (default: read, write and delete), ``user_id`` /
    ``agent_id`` bind it to one scope of memories, ``rate_limit`` sets its own token bucket
    (default: the server's ``MNEMONIX_RATE_LIMIT__*``, off unless set)."""
    body = body or ApiKeyCreate()
    with unit_of_work(state.sessions) as session:
        tenant = TenantRepository(session).by_name(name)
        if tenant is None:
            raise NotFound(f"No tenant named {name!r}.")
        key, raw = ApiKeyRepository(session).create(
            tenant=tenant,
            name=body.name,
            scopes=body.scopes,
            user_id=body.user_id,
            agent_id=body.agent_id,
            rate_per_second=body.rate_limit.per_second if body.rate_limit else None,
            rate_burst=body.rate_limit.burst if body.rate_limit else None,
        )
    return ApiKeyCreated(**_key_read(key).model_dump(), key=raw)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: uuid.UUID, state: State) -> Response:
    """Revoke a key (idempotent). It stops working at once in this process, and within the
    auth cache's TTL (5 s) in other API processes."""
    with unit_of_work(state.sessions) as session:
        keys = ApiKeyRepository(session)
        key = keys.get(key_id)
        if key is None:
            raise NotFound(f"No API key {key_id}.")
        if key.revoked_at is None:
            keys.revoke(key, utcnow())
    state.principals.invalidate(key_id)
    state.limiter.forget(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/reindex", response_model=ReindexRead)
def reindex(state: State, body: ReindexRequest | None = None) -> ReindexRead:
    """Rebuild tenants' in-memory indexes from SQL (the source of truth)."""
    started = time.perf_counter()
    if body is not None and body.tenant is not None:
        targets = [tenant_by_name(state, body.tenant)]
    else:
        with state.sessions() as session:
            targets = TenantRepository(session).list()
    memories = sum(state.indexes.rebuild(t.id) for t in targets)
    return ReindexRead(
        tenants=[t.name for t in targets],
        memories=memories,
        duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
    )
