"""The business calendar in force: the policy's calendar with the admins' override table on top.

The table is tiny and changes a few times a year, so each process keeps what it read for
``sla.calendar_refresh`` and reads it again afterwards (the breach scan always reads it, so the
worker schedules waiting clocks in the round after an admin enters the days). A change made by
this process is seen at once.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordo.auth.model import Actor, Permission
from ordo.kernel.calendar import BusinessCalendar, DayKind
from ordo.policy import Policy
from ordo.sla.tables import CalendarOverride

if TYPE_CHECKING:
    from ordo.bootstrap import UnitOfWork

_cache: dict[tuple[str, int], tuple[float, BusinessCalendar]] = {}


def forget() -> None:
    """Drop what this process read (after a change, and in tests)."""
    _cache.clear()


def overrides(session: Session, *, year: int | None = None) -> dict[date, DayKind]:
    statement = select(CalendarOverride.day, CalendarOverride.kind).order_by(CalendarOverride.day)
    if year is not None:
        statement = statement.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return {day: kind for day, kind in session.execute(statement).all()}  # type: ignore[misc]


def in_force(session: Session, policy: Policy, base: BusinessCalendar, *, fresh: bool = False) -> BusinessCalendar:
    """``base`` (from the policy) with the table's days winning over the policy file's."""
    key = (str(session.get_bind().engine.url), id(policy))
    cached = _cache.get(key)
    now = time.monotonic()
    if not fresh and cached is not None and cached[0] > now:
        return cached[1]
    table = overrides(session)
    calendar = replace(base, overrides={**base.overrides, **table}) if table else base
    _cache[key] = (now + policy.sla.calendar_refresh.total_seconds(), calendar)
    return calendar


def set_days(uow: UnitOfWork, *, days: dict[date, DayKind], actor: Actor) -> dict[date, DayKind]:
    """Enter (or change) days of the override table; returns the table's days of the years touched."""
    actor.require(Permission.REFERENCE_WRITE)
    session, now = uow.session, uow.clock.now()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for day, kind in sorted(days.items()):
        statement = insert(CalendarOverride).values(day=day, kind=kind, set_by=actor.name, set_at=now)
        session.execute(statement.on_conflict_do_update(
            index_elements=["day"], set_={"kind": kind, "set_by": actor.name, "set_at": now}))
    forget()
    years = sorted({d.year for d in days})
    found: dict[date, DayKind] = {}
    for year in years:
        found |= overrides(session, year=year)
    return found
