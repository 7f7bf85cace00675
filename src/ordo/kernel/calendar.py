"""The business calendar: which days are working days and when a time limit falls due.

China's official calendar (with its adjusted working days) comes from the ``chinesecalendar``
package; an override table from the policy wins over it, so that an admin can enter next year's
days before the package knows them. For a day neither knows the calendar refuses to guess and
raises ``CalendarUnknown`` — treating it as a plain weekday would silently put deadlines on
public holidays. Everything here is pure: no clock, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from ordo.kernel.errors import OrdoError

DayKind = Literal["workday", "holiday"]
CalendarMode = Literal["elapsed", "working_days", "next_working_day_at"]
# No business calendar has a year without a working day; a search longer than this means the
# table is broken rather than that the next working day is far away.
_MAX_SEARCH_DAYS = 366


class CalendarUnknown(OrdoError):
    """The calendar has no data for this day (neither the package nor the override table)."""

    status = 409

    def __init__(self, day: date) -> None:
        super().__init__("calendar_unknown", day=day.isoformat(), year=day.year)
        self.day = day


@dataclass(frozen=True)
class BusinessCalendar:
    tz: str = "Asia/Shanghai"
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    overrides: Mapping[date, DayKind] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_workday(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind is not None:
            return kind == "workday"
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarUnknown(day) from None

    def knows(self, day: date) -> bool:
        try:
            self.is_workday(day)
        except CalendarUnknown:
            return False
        return True

    def in_working_hours(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        return self.is_workday(local.date()) and self.work_start <= local.time() < self.work_end

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for offset in range(1, _MAX_SEARCH_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_workday(candidate):
                return candidate
        raise CalendarUnknown(day + timedelta(days=_MAX_SEARCH_DAYS))

    def add_elapsed(self, start: datetime, delta: timedelta) -> datetime:
        return start.astimezone(UTC) + delta

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day on the ``days``-th working day after the start's day.

        A refund started on Friday 2026-02-13 with 3 working days is due on 2026-02-25: Saturday the
        14th is an adjusted working day, the 15th to the 23rd is the Spring Festival."""
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(days):
            day = self.next_workday(day)
        return datetime.combine(day, local.time(), self.zone).astimezone(UTC)

    def next_working_day_at(self, start: datetime, at: time) -> datetime:
        """The first working day's ``at`` (local) that is later than ``start``: an enquiry at 20:00
        on a working day is due at 10:00 the next working day, one at 08:00 by 10:00 that day."""
        local = start.astimezone(self.zone)
        day = local.date()
        if self.is_workday(day) and local.time() < at:
            return datetime.combine(day, at, self.zone).astimezone(UTC)
        return datetime.combine(self.next_workday(day), at, self.zone).astimezone(UTC)

    def due(self, start: datetime, limit: timedelta, mode: CalendarMode) -> datetime:
        """When a limit of ``limit`` started at ``start`` falls due, by calendar mode:
        ``elapsed`` counts every hour; ``working_days`` counts whole working days (``limit.days``);
        ``next_working_day_at`` reads ``limit`` as a time of day (10 hours → 10:00)."""
        if mode == "elapsed":
            return self.add_elapsed(start, limit)
        if mode == "working_days":
            return self.add_working_days(start, limit.days)
        seconds = int(limit.total_seconds())
        return self.next_working_day_at(start, time(seconds // 3600, seconds % 3600 // 60))
