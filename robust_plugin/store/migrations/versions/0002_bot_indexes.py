"""Indexes for many bots in one store: one bot's events over time, one kind over time (the CLI's alerts).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_robust_events_bot_time", "robust_events", ["bot_name", "created_at"])
    op.create_index("ix_robust_events_kind_time", "robust_events", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_robust_events_kind_time", table_name="robust_events")
    op.drop_index("ix_robust_events_bot_time", table_name="robust_events")
