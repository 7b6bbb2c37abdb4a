"""expiry and write policy: memory.expires_at (read-time expiry, erased by the lifecycle),
tenant.write_policy (default TTLs, secrets and PII handling)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 06:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import JSONType, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("memory") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_index("ix_memory_tenant_expires", "memory", ["tenant_id", "expires_at"])
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(
            sa.Column("write_policy", JSONType, nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("write_policy")
    op.drop_index("ix_memory_tenant_expires", table_name="memory")
    with op.batch_alter_table("memory") as batch:
        batch.drop_column("expires_at")
