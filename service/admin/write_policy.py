"""A tenant's write policy: default TTLs, secrets and PII handling (``service/privacy``)."""

from __future__ import annotations

from fastapi import APIRouter

from service.admin.tenants import tenant_by_name
from service.auth import State
from service.privacy.policy import WritePolicy, load_policy
from storage.db import unit_of_work
from storage.errors import NotFound
from storage.repositories import TenantRepository

router = APIRouter(tags=["admin"])


@router.get("/tenants/{name}/write-policy", response_model=WritePolicy)
def get_write_policy(name: str, state: State) -> WritePolicy:
    """The tenant's effective write policy (its stored settings over the defaults)."""
    return load_policy(tenant_by_name(state, name).write_policy)


@router.put("/tenants/{name}/write-policy", response_model=WritePolicy)
def put_write_policy(name: str, body: WritePolicy, state: State) -> WritePolicy:
    """Replace the tenant's write policy; omitted keys take their defaults. It applies to
    writes from now on: stored memories are not rescanned."""
    with unit_of_work(state.sessions) as session:
        tenant = TenantRepository(session).by_name(name)
        if tenant is None:
            raise NotFound(f"No tenant named {name!r}.")
        tenant.write_policy = body.model_dump(mode="json", exclude_defaults=True)
    return body
