"""SQL behind the admin overview: tenant sizes."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Memory, Tenant


class AdminRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def tenants_with_counts(self) -> list[tuple[Tenant, int]]:
        stmt = (
            select(Tenant, func.count(Memory.id))
            .outerjoin(Memory, Memory.tenant_id == Tenant.id)
            .group_by(Tenant.id)
            .order_by(Tenant.created_at, Tenant.name)
        )
        return [(tenant, int(n)) for tenant, n in self.session.execute(stmt)]

    def memory_count(self, tenant_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(Memory).where(Memory.tenant_id == tenant_id)
        return int(self.session.scalar(stmt) or 0)

    def count_by_tier(self) -> list[tuple[str, int]]:
        stmt = select(Memory.tier, func.count()).group_by(Memory.tier)
        return [(tier, int(n)) for tier, n in self.session.execute(stmt)]
