"""The events table as the plugin created it before migrations existed (stores from then are stamped 0001).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robust_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
        sa.Column("bot_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=True),
        sa.Column("pair", sa.String(50), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_robust_events_trade", "robust_events", ["trade_id", "kind"])
    op.create_index("ix_robust_events_time", "robust_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_robust_events_time", table_name="robust_events")
    op.drop_index("ix_robust_events_trade", table_name="robust_events")
    op.drop_table("robust_events")
