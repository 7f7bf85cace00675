"""HTTP for SLA clocks: what is overdue, and the on-time rate per step."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from ordo.auth.model import Permission
from ordo.entrypoints.api.deps import CurrentActor, Reading
from ordo.sla import queries
from ordo.sla.schemas import OnTimeRead, OverdueRead

router = APIRouter(tags=["sla"])


@router.get("/sla/overdue", response_model=list[OverdueRead])
def overdue(uow: Reading, actor: CurrentActor, limit: int = Query(200, ge=1, le=1000)) -> list[OverdueRead]:
    actor.require(Permission.ORDER_READ)
    return queries.overdue(uow.session, uow.clock.now(), actor, limit=limit)


@router.get("/sla/on-time", response_model=list[OnTimeRead])
def on_time(uow: Reading, actor: CurrentActor, since: datetime | None = None) -> list[OnTimeRead]:
    actor.require(Permission.ORDER_READ)
    return queries.on_time_rate(uow.session, since=since)
