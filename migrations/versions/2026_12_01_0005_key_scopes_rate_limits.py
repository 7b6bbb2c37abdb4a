"""key scopes, bindings and rate limits: keys that carry less power

A key gets ``scopes`` (space-separated, of ``read write delete``; existing keys keep all
three), an optional ``user_id`` / ``agent_id`` it is bound to, and an optional token-bucket
rate limit (``rate_per_second``, ``rate_burst``; NULL: the server's default).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(
            sa.Column(
                "scopes", sa.String(64), nullable=False, server_default="read write delete"
            )
        )
        batch.add_column(sa.Column("user_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("agent_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("rate_per_second", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_burst", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("rate_burst")
        batch.drop_column("rate_per_second")
        batch.drop_column("agent_id")
        batch.drop_column("user_id")
        batch.drop_column("scopes")
