"""scope page index: a user's memories in page order, without sorting the scope

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_memory_tenant_user_created",
        "memory",
        ["tenant_id", "user_id", "created_at", "id"],
    )
    op.drop_index("ix_memory_tenant_user", table_name="memory")


def downgrade() -> None:
    op.create_index("ix_memory_tenant_user", "memory", ["tenant_id", "user_id"])
    op.drop_index("ix_memory_tenant_user_created", table_name="memory")
