"""Read side for SLA clocks: per order, overdue, on-time rate per step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor
from ordo.channel.tables import Shop
from ordo.order.tables import Order
from ordo.sla.model import ClockStatus
from ordo.sla.schemas import ClockRead, OnTimeRead, OverdueRead
from ordo.sla.tables import SlaClock


def _read(c: SlaClock) -> dict[str, object]:
    return {
        "step": c.step, "department": c.department, "entity": c.entity, "status": c.status, "calendar": c.calendar,
        "started_at": c.started_at, "deadline": c.deadline, "stopped_at": c.stopped_at,
        "elapsed_seconds": c.elapsed_seconds, "on_time": c.on_time, "breached_at": c.breached_at,
    }


def clocks_of_order(session: Session, order_id: int) -> list[ClockRead]:
    rows = session.scalars(select(SlaClock).where(SlaClock.order_id == order_id).order_by(SlaClock.id))
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
