"""Read side for SLA clocks: per order, overdue, on-time rate per step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.auth.model import Actor
from ordo.channel.tables import Shop
from ordo.order.tables import Order
from ordo.sla.model import ClockStatus
from ordo.sla.schemas import ClockRead, OnTimeRead, OverdueRead
from ordo.sla.tables import SlaClock


def _read(c: Any) -> dict[str, object]:
    # ``c``: a clock, or a row of its columns
    return {
        "step": c.step, "department": c.department, "entity": c.entity, "status": c.status, "calendar": c.calendar,
        "started_at": c.started_at, "deadline": c.deadline, "stopped_at": c.stopped_at,
        "elapsed_seconds": c.elapsed_seconds, "on_time": c.on_time, "breached_at": c.breached_at,
    }


# Built once and run as a prepared statement answering plain rows: the order detail only reads them.
_CLOCKS_OF_ORDER = (select(SlaClock.step, SlaClock.department, SlaClock.entity, SlaClock.status, SlaClock.calendar,
                           SlaClock.started_at, SlaClock.deadline, SlaClock.stopped_at, SlaClock.elapsed_seconds,
                           SlaClock.on_time, SlaClock.breached_at)
                    .where(SlaClock.order_id == bindparam("order_id")).order_by(SlaClock.id))


def clocks_of_order(session: Session, order_id: int) -> list[ClockRead]:
    rows = prepared.execute(prepared.connection(session), _CLOCKS_OF_ORDER, {"order_id": order_id})
    return [ClockRead(**_read(c)) for c in rows]  # type: ignore[arg-type]


def overdue(session: Session, now: datetime, actor: Actor, *, limit: int = 200) -> list[OverdueRead]:
    """Running clocks past their deadline, most overdue first (reads the (status, deadline) index)."""
    statement = (
        select(SlaClock, Order.number)
        .outerjoin(Order, Order.id == SlaClock.order_id)
        .where(SlaClock.status.in_([ClockStatus.OPEN, ClockStatus.BREACHED]), SlaClock.deadline < now)
        .order_by(SlaClock.deadline, SlaClock.id)
        .limit(limit)
    )
    if actor.shops:
        statement = statement.join(Shop, Shop.id == Order.shop_id).where(Shop.code.in_(sorted(actor.shops)))
    return [
        OverdueRead(**_read(c), order=number, overdue_seconds=int((now - c.deadline).total_seconds()))  # type: ignore[arg-type, operator]
        for c, number in session.execute(statement).all()
    ]


def on_time_rate(session: Session, *, since: datetime | None = None) -> list[OnTimeRead]:
    """Closed clocks per step and how many stopped by their deadline (cancelled ones do not count)."""
    statement = (
        select(SlaClock.step, func.count(), func.sum(case((SlaClock.on_time.is_(True), 1), else_=0)))
        .where(SlaClock.status == ClockStatus.STOPPED)
        .group_by(SlaClock.step)
        .order_by(SlaClock.step)
    )
    if since is not None:
        statement = statement.where(SlaClock.stopped_at >= since)
    return [
        OnTimeRead(step=step, closed=closed, on_time=int(good or 0), rate=(int(good or 0) / closed) if closed else None)
        for step, closed, good in session.execute(statement).all()
    ]
