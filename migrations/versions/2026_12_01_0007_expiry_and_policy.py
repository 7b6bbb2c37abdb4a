"""expiry and write policy: memory.expires_at (read-time expiry, erased by the lifecycle),
tenant.write_policy (default TTLs, secrets and PII handling)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import JSONType, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD / DROP COLUMN (SQLite >= 3.35 has both), never a batch "move and copy": on
    # SQLite that drops and re-creates the table, and with foreign keys on, dropping
    # ``tenant`` would cascade to every API key and memory of every tenant.
    op.add_column("memory", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_index("ix_memory_tenant_expires", "memory", ["tenant_id", "expires_at"])
    op.add_column(
        "tenant",
        sa.Column("write_policy", JSONType, nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    op.drop_column("tenant", "write_policy")
    op.drop_index("ix_memory_tenant_expires", table_name="memory")
    op.drop_column("memory", "expires_at")
