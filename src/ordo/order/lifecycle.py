"""What every order command shares: finding the order the actor may see, and moving it through
the transition table with an event in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor
from ordo.bootstrap import UnitOfWork
from ordo.channel.tables import Shop
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import NotFound
from ordo.order.states import ORDER, OrderTrigger
from ordo.order.tables import Order

SYSTEM = "system"


def load_order(session: Session, number: str, actor: Actor, *, for_update: bool = False) -> Order:
    """The order if the actor may see it; otherwise "not found", so its existence does not leak."""
    statement = select(Order).where(Order.number == number)
    if for_update:
        statement = statement.with_for_update()
    order = session.scalars(statement).one_or_none()
    if order is None or not in_scope(session, order, actor):
        raise NotFound("order", number)
    return order


def in_scope(session: Session, order: Order, actor: Actor) -> bool:
    if actor.shops:
        shop_code = session.scalar(select(Shop.code).where(Shop.id == order.shop_id))
        if shop_code not in actor.shops:
            return False
    if actor.warehouses:
        codes = session.scalars(
            select(Warehouse.code)
            .join(Shipment, Shipment.warehouse_id == Warehouse.id)
            .where(Shipment.order_id == order.id)
        ).all()
        return actor.sees_warehouses(codes)
    return True


def transition(
    uow: UnitOfWork,
    order: Order,
    trigger: OrderTrigger,
    *,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    event: str | None = None,
) -> None:
    before = order.status
    order.status = ORDER.fire(before, trigger)
    order.updated_at = uow.clock.now()
    record(
        uow.session,
        at=order.updated_at,
        actor=actor,
        entity="order",
        entity_id=order.id,
        order_id=order.id,
        name=event or f"order.{trigger}",
        from_state=before,
        to_state=order.status,
        reason=reason,
        data=data,
    )


def note(
    uow: UnitOfWork,
    order: Order,
    name: str,
    *,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """An event that changes no state (a second hold, a hold released while others remain, …)."""
    record(
        uow.session,
        at=uow.clock.now(),
        actor=actor,
        entity="order",
        entity_id=order.id,
        order_id=order.id,
        name=name,
        from_state=order.status,
        to_state=order.status,
        reason=reason,
        data=data,
    )


def release_holds(order: Order, *, at: datetime, actor: str) -> None:
    for h in order.holds:
        if h.released_at is None:
            h.released_at, h.released_by = at, actor
