"""memory_event.xact_id: the writing transaction, so the change feed never skips a commit

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:40:00.000000

On PostgreSQL every event records ``pg_current_xact_id()`` (the 64-bit ``xid8`` of the
transaction that wrote it, stored as ``bigint``); followers read the feed by snapshot
(transactions finished since the last read), not by highest id seen
(``storage/repositories/feed.py``). SQLite keeps NULL: it has
one writer at a time, so its ids are already in commit order. Events written before this
revision keep NULL too (a process rebuilds from rows at start-up, so it never needs them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("memory_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xact_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_memory_event_xact", ["xact_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # set apart from ADD COLUMN: existing rows stay NULL, no table rewrite
        op.execute(
            "ALTER TABLE memory_event ALTER COLUMN xact_id "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )


def downgrade() -> None:
    with op.batch_alter_table("memory_event", schema=None) as batch_op:
        batch_op.drop_index("ix_memory_event_xact")
        batch_op.drop_column("xact_id")
