"""HTTP for SLA clocks: what is overdue, the on-time rate per step, the calendar override table."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from ordo.auth.model import Permission
from ordo.entrypoints.api.deps import CurrentActor, Reading, Transaction
from ordo.sla import calendar as calendars
from ordo.sla import queries
from ordo.sla.schemas import CalendarDay, CalendarOverridesIn, OnTimeRead, OverdueRead

router = APIRouter(tags=["sla"])


@router.get("/sla/overdue", response_model=list[OverdueRead])
def overdue(uow: Reading, actor: CurrentActor, limit: int = Query(200, ge=1, le=1000)) -> list[OverdueRead]:
    actor.require(Permission.ORDER_READ)
    return queries.overdue(uow.session, uow.clock.now(), actor, limit=limit)


@router.get("/sla/on-time", response_model=list[OnTimeRead])
def on_time(uow: Reading, actor: CurrentActor, since: datetime | None = None) -> list[OnTimeRead]:
    actor.require(Permission.ORDER_READ)
    return queries.on_time_rate(uow.session, since=since)


@router.get("/calendar/overrides", response_model=list[CalendarDay])
def calendar_overrides(uow: Reading, actor: CurrentActor, year: int | None = Query(None, ge=2000, le=2100)
                       ) -> list[CalendarDay]:
    """The days admins entered (they win over the official calendar package)."""
    actor.require(Permission.REFERENCE_READ)
    return [CalendarDay(day=d, kind=k) for d, k in calendars.overrides(uow.session, year=year).items()]


@router.put("/calendar/overrides", response_model=list[CalendarDay])
def set_calendar_overrides(body: CalendarOverridesIn, uow: Transaction, actor: CurrentActor) -> list[CalendarDay]:
    """Enter or change days; answers with the table's days of the years touched."""
    days = calendars.set_days(uow, days={d.day: d.kind for d in body.days}, actor=actor)
    return [CalendarDay(day=d, kind=k) for d, k in days.items()]
