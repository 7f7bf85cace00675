"""What the API returns for SLA clocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class ClockRead(BaseModel):
    step: str
    department: str
    entity: str
    status: str
    calendar: str
    started_at: datetime
    deadline: datetime | None
    stopped_at: datetime | None
    elapsed_seconds: int | None
    on_time: bool | None
    breached_at: datetime | None


class OverdueRead(ClockRead):
    order: str | None
    overdue_seconds: int


class OnTimeRead(BaseModel):
    step: str
    closed: int
    on_time: int
    rate: float | None


class CalendarDay(BaseModel):
    day: date
    kind: Literal["holiday", "workday"]


class CalendarOverridesIn(BaseModel):
    """Days to enter (or change) in the override table."""

    days: list[CalendarDay] = Field(min_length=1, max_length=400)
