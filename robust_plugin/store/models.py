"""Tables of the plugin's own database (never freqtrade's): events the plugin records.

The schema itself is made by the migrations in ``migrations/versions`` (never ``create_all``); this model
mirrors the newest revision and a test holds the two together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """One thing the plugin saw or did, for one trade (or for the account when ``trade_id`` is null).

    ``kind`` names the event in the trading domain (``aged_phase``, ``aged_exit``, ...); ``data`` holds
    its details as JSON. No foreign key points into freqtrade's tables: trades are referred to by id.
    """

    __tablename__ = "robust_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot_name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False, default="info")
    trade_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pair: Mapped[str | None] = mapped_column(String(50), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (
        Index("ix_robust_events_trade", "trade_id", "kind"),
        Index("ix_robust_events_time", "created_at"),
        Index("ix_robust_events_bot_time", "bot_name", "created_at"),  # revision 0002
        Index("ix_robust_events_kind_time", "kind", "created_at"),  # revision 0002
    )
