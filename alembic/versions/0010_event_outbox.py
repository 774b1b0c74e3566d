"""event outbox: events committed on SQLite, relayed by every server process

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 12:00:00.000000

On SQLite, models/events.notify writes each event as a row of ``event_outbox`` in the writer's
transaction, and every API process relays the rows (api/events.py), so that writes made by the
CLI or another process reach subscriptions. PostgreSQL keeps using NOTIFY; the table exists there
too (one schema for both) and stays empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        # ids are never given twice, even after old rows are deleted: readers resume after one
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_event_outbox_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_event_outbox_created_at")
    op.drop_table("event_outbox")
