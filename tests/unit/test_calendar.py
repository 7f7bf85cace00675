"""The business calendar: China's official days, the override table, and the three ways a limit falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ordo.kernel.calendar import BusinessCalendar, CalendarUnknown

SH = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_the_package_knows_2026_adjusted_days_and_the_spring_festival() -> None:
    assert CAL.is_workday(date(2026, 2, 14))  # a Saturday, adjusted working day
    assert [CAL.is_workday(date(2026, 2, d)) for d in range(15, 24)] == [False] * 9
    assert CAL.is_workday(date(2026, 2, 24))


def test_three_working_days_from_friday_before_the_spring_festival() -> None:
    due = CAL.add_working_days(sh(2026, 2, 13, 11, 30), 3)
    assert due == sh(2026, 2, 25, 11, 30).astimezone(UTC)
    assert CAL.due(sh(2026, 2, 13, 11, 30), timedelta(days=3), "working_days") == due


def test_enquiry_after_hours_before_national_day_is_due_at_ten_on_the_eighth() -> None:
    due = CAL.next_working_day_at(sh(2026, 9, 30, 20, 0), time(10, 0))
    assert due == sh(2026, 10, 8, 10, 0).astimezone(UTC)
    assert CAL.due(sh(2026, 9, 30, 20, 0), timedelta(hours=10), "next_working_day_at") == due


def test_before_ten_on_a_working_day_is_due_the_same_day() -> None:
    assert CAL.next_working_day_at(sh(2026, 9, 29, 8, 0), time(10, 0)) == sh(2026, 9, 29, 10, 0).astimezone(UTC)


def test_elapsed_hours_ignore_the_calendar() -> None:
    assert CAL.due(sh(2026, 2, 14, 23, 0), timedelta(hours=2), "elapsed") == sh(2026, 2, 15, 1, 0).astimezone(UTC)


def test_working_hours() -> None:
    assert CAL.in_working_hours(sh(2026, 9, 30, 17, 59))
    assert not CAL.in_working_hours(sh(2026, 9, 30, 18, 0))
    assert not CAL.in_working_hours(sh(2026, 10, 2, 11, 0))


def test_an_unknown_year_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarUnknown) as caught:
        CAL.add_working_days(sh(2026, 12, 31, 10, 0), 1)
    assert caught.value.day == date(2027, 1, 1)
    assert caught.value.params == {"day": "2027-01-01", "year": 2027}
    assert not CAL.knows(date(2027, 1, 4))


def test_the_override_table_wins_over_the_package_and_fills_unknown_years() -> None:
    cal = BusinessCalendar(overrides={date(2026, 2, 14): "holiday", date(2027, 1, 1): "holiday",
                                      date(2027, 1, 2): "holiday", date(2027, 1, 3): "holiday",
                                      date(2027, 1, 4): "workday"})
    assert not cal.is_workday(date(2026, 2, 14))
    assert cal.next_workday(date(2026, 12, 31)) == date(2027, 1, 4)
    with pytest.raises(CalendarUnknown):
        cal.is_workday(date(2027, 1, 5))
