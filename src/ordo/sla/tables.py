from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


class SlaClock(Base):
    """One running (or finished) time limit of one step of one order or shipment. The deadline is
    stored when the clock starts; the scan reads ``(status, deadline)`` through an index, so its
    cost grows with the clocks that are due, not with the orders."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_due", "status", "deadline"),
        Index("ix_sla_clocks_escalation", "status", "escalate_at"),
        Index("ix_sla_clocks_entity", "entity", "entity_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int]
    order_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    calendar: Mapped[str] = mapped_column(String(24))
    limit_seconds: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    elapsed_seconds: Mapped[int | None]
    on_time: Mapped[bool | None]
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarOverride(Base):
    """A day an admin entered (holiday or adjusted working day): consulted before the policy file's
    overrides and the ``chinesecalendar`` package, so next year's calendar can be entered as soon as
    the government publishes it."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
