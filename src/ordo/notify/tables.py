from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


class OutboxMessage(Base):
    """A message to the outside world (customer notice, staff task, webhook), written in the same
    transaction as the change it reports; a worker delivers it at least once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "available_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    # Receivers drop duplicates by this key.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[int | None] = mapped_column(index=True)
    audience: Mapped[str] = mapped_column(String(32))  # customer | customer_service | warehouse | webhook …
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
