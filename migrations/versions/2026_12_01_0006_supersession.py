"""supersession: a memory's successor and its valid / transaction time, and claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import BigIntPK, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD / DROP COLUMN, never a batch "move and copy" (see 0007): re-creating
    # ``memory`` on SQLite would cascade to its events, links and claims
    op.add_column("memory", sa.Column("replaced_by", sa.Uuid(), nullable=True))
    op.add_column("memory", sa.Column("superseded_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("memory", sa.Column("valid_until", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_memory_replaced_by", "memory", ["replaced_by"])
    op.create_table(
        "memory_claim",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("memory_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["memory_id"],
            ["memory.id"],
            name="fk_memory_claim_memory_id_memory",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_memory_claim"),
    )
    op.create_index("ix_memory_claim_lookup", "memory_claim", ["tenant_id", "subject", "attribute"])
    op.create_index("ix_memory_claim_memory_id", "memory_claim", ["memory_id"])


def downgrade() -> None:
    op.drop_index("ix_memory_claim_memory_id", table_name="memory_claim")
    op.drop_index("ix_memory_claim_lookup", table_name="memory_claim")
    op.drop_table("memory_claim")
    op.drop_index("ix_memory_replaced_by", table_name="memory")
    op.drop_column("memory", "valid_until")
    op.drop_column("memory", "superseded_at")
    op.drop_column("memory", "replaced_by")
