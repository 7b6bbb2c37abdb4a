from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiKey, Tenant
from storage.records import KEY_SCOPES

KEY_PREFIX = "mnx_"


def hash_key(raw: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is a safe at-rest hash."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def by_name(self, name: str) -> Tenant | None:
        return self.session.scalar(select(Tenant).where(Tenant.name == name))

    def list(self) -> list[Tenant]:
        return list(self.session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.name)))

    def add(self, name: str) -> Tenant:
        tenant = Tenant(name=name, policy={})
        self.session.add(tenant)
        self.session.flush()
        return tenant


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        tenant: Tenant,
        name: str = "",
        scopes: Sequence[str] = KEY_SCOPES,
        user_id: str | None = None,
        agent_id: str | None = None,
        rate_per_second: float | None = None,
        rate_burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key; the raw secret is returned once and only its hash is stored.

        ``scopes`` (of ``KEY_SCOPES``), the ``user_id`` / ``agent_id`` it is bound to, and its
        own rate limit (``None``: the server's default) narrow what the key can do."""
        raw = new_raw_key()
        key = ApiKey(
            tenant_id=tenant.id,
            name=name,
            prefix=raw[:12],
            key_hash=hash_key(raw),
            scopes=" ".join(s for s in KEY_SCOPES if s in set(scopes)),
            user_id=user_id,
            agent_id=agent_id,
            rate_per_second=rate_per_second,
            rate_burst=rate_burst,
        )
        self.session.add(key)
        self.session.flush()
        return key, raw

    def active_by_secret(self, raw: str) -> ApiKey | None:
        return self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))
        )

    def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return self.session.get(ApiKey, key_id)

    def list(self, tenant_id: uuid.UUID | None = None) -> list[ApiKey]:
        stmt = select(ApiKey).order_by(ApiKey.created_at)
        if tenant_id is not None:
            stmt = stmt.where(ApiKey.tenant_id == tenant_id)
        return list(self.session.scalars(stmt))

    def revoke(self, key: ApiKey, at: datetime) -> None:
        key.revoked_at = at
        self.session.flush()
