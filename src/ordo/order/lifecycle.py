"""What every order command shares: finding the order the actor may see, and moving it through
the transition table with an event in the same transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ordo.adapters.db import prepared
from ordo.audit.log import record
from ordo.auth.model import Actor
from ordo.bootstrap import UnitOfWork
from ordo.channel.tables import Shop
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import NotFound
from ordo.order.states import ORDER, HoldReason, OrderStatus, OrderTrigger, resume_trigger
from ordo.order.tables import Order, OrderHold

SYSTEM = "system"


# Built once: a statement made per call costs more Python than the query it runs. The order is read
# as a row (a prepared statement) and becomes the session's entity (``prepared.held_or_loaded``).
_ORDER_ROW = select(*Order.__table__.c).where(Order.number == bindparam("number"))
_ORDER_ROW_LOCKED = _ORDER_ROW.with_for_update()
# Locked rows are read afresh: the session may hold this order as it was before the lock.
_ORDER_LOCKED = (select(Order).where(Order.number == bindparam("number")).with_for_update()
                 .execution_options(populate_existing=True))
_SHOP_CODE = select(Shop.code).where(Shop.id == bindparam("shop_id"))
_HOLDS = select(*OrderHold.__table__.c).where(OrderHold.order_id == bindparam("order_id")).order_by(OrderHold.id)


def load_order(session: Session, number: str, actor: Actor, *, for_update: bool = False) -> Order:
    """The order if the actor may see it; otherwise "not found", so its existence does not leak."""
    rows = prepared.execute(prepared.connection(session), _ORDER_ROW_LOCKED if for_update else _ORDER_ROW,
                            {"number": number})
    if for_update and rows and session.identity_map.get(identity_key(Order, rows[0].id)) is not None:
        # The session held it already, perhaps as it was before the lock: read afresh (the lock is
        # held by now).
        order = session.scalars(_ORDER_LOCKED, {"number": number}).one_or_none()
    else:
        order = next(iter(prepared.held_or_loaded(session, Order, rows)), None)
    if order is None or not in_scope(session, order, actor):
        raise NotFound("order", number)
    return order


def lock_orders_not_busy(session: Session, ids: Collection[int]) -> dict[int, Order]:
    """For the background scans, which find their orders through rows that hang off them (clocks,
    contacts): these orders locked in id order, except those another transaction holds (PostgreSQL:
    SKIP LOCKED) — a busy order is left for the scan's next round. Taken before the scan writes
    anything that touches an order, so a scan never waits for an order command, which locks the
    order first and then its children (the scan may already hold one of them)."""
    if not ids:
        return {}
    statement = (select(Order).where(Order.id.in_(sorted(ids))).order_by(Order.id)
                 .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":  # SQLite: one writer at a time, no row locks
        statement = statement.with_for_update(skip_locked=True)
    return {order.id: order for order in session.scalars(statement)}


def in_scope(session: Session, order: Order, actor: Actor) -> bool:
    if actor.shops and shop_code(session, order) not in actor.shops:
        return False
    if actor.warehouses:
        codes = session.scalars(
            select(Warehouse.code)
            .join(Shipment, Shipment.warehouse_id == Warehouse.id)
            .where(Shipment.order_id == order.id)
        ).all()
        return actor.sees_warehouses(codes)
    return True


def shop_code(session: Session, order: Order) -> str:
    """The code of the order's shop: the session's copy if a command loaded the shop, else one
    prepared read. That read does not flush the command's changes first, as an ORM query would (a
    status change's answer split its writes into two flushes): a shop's code never changes (shops
    are created and updated by code), so nothing pending can change it."""
    shop = session.identity_map.get(identity_key(Shop, order.shop_id))
    if shop is not None:
        return shop.code  # type: ignore[no-any-return]
    row = prepared.execute(session.connection(), _SHOP_CODE, {"shop_id": order.shop_id}).first()
    return row.code if row is not None else ""


def transition(
    uow: UnitOfWork,
    order: Order,
    trigger: OrderTrigger,
    *,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    event: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move the order and record it; ``at``: when it happened, if not now (the carrier's scan that
    shipped or delivered its last parcel)."""
    before = order.status
    order.status = ORDER.fire(before, trigger)
    order.updated_at = uow.clock.now()
    record(
        uow.session,
        at=at or order.updated_at,
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


def holds_of(order: Order) -> list[OrderHold]:
    """The order's holds, oldest first: ``order.holds``, read — when the session has not loaded them
    yet — with a prepared statement and kept as the loaded collection, as the relationship's lazy
    load would (which costs several times the Python of the query it runs)."""
    session = object_session(order)
    if "holds" not in order.__dict__ and session is not None and order.id is not None:
        rows = prepared.execute(prepared.connection(session), _HOLDS, {"order_id": order.id})
        set_committed_value(order, "holds", prepared.held_or_loaded(session, OrderHold, rows))
    return order.holds


def active_hold(order: Order, reason: str) -> OrderHold | None:
    """The order's unreleased hold for this reason, if it has one."""
    return next((h for h in holds_of(order) if h.reason == reason and h.released_at is None), None)


def release_holds(order: Order, *, at: datetime, actor: str) -> None:
    for h in holds_of(order):
        if h.released_at is None:
            h.released_at, h.released_by = at, actor


def place_hold(uow: UnitOfWork, order: Order, reason: HoldReason, *, actor: str, comment: str | None = None,
               data: dict[str, Any] | None = None) -> bool:
    """Put the order on hold for this reason (stacked on other holds); False if already held so.
    ``data`` is added to the event's data (the review rules record their decision there)."""
    if active_hold(order, reason) is not None:
        return False
    extra = {"note": comment, **(data or {})}
    if order.status != OrderStatus.ON_HOLD:
        order.status_before_hold = order.status  # set first: the order row is written once
        transition(uow, order, OrderTrigger.HOLD, actor=actor, reason=reason.value, data=extra)
    else:
        note(uow, order, "order.hold_added", actor=actor, reason=reason.value, data=extra)
    # Inserted at once with a prepared statement (it needs nothing the command has pending) and
    # joining the order's holds as read back: the order is left with plain column changes, which its
    # commit writes without the unit of work (``prepared.update_dirty``).
    values = {"order_id": order.id, "reason": reason, "note": comment, "placed_by": actor,
              "placed_at": uow.clock.now(), "released_by": None, "released_at": None}
    [(hold_id,)] = prepared.insert_rows(uow.session.connection(), OrderHold.__table__, [values], returning=("id",))
    hold = prepared.loaded(uow.session, OrderHold, {"id": hold_id, **values})
    set_committed_value(order, "holds", [*holds_of(order), hold])
    return True


def lift_hold(uow: UnitOfWork, order: Order, reason: HoldReason, *, actor: str, comment: str | None = None) -> bool:
    """Release one hold; when it was the last, the order returns to where it was held (True)."""
    active = [h for h in holds_of(order) if h.released_at is None]
    target = next((h for h in active if h.reason == reason), None)
    if target is None:
        return False
    target.released_at, target.released_by = uow.clock.now(), actor
    if len(active) > 1:
        note(uow, order, "order.released", actor=actor, reason=reason.value, data={"note": comment})
        return False
    back_to = order.status_before_hold or OrderStatus.PENDING_REVIEW
    order.status_before_hold = None
    transition(uow, order, resume_trigger(back_to), actor=actor, reason=reason.value, data={"note": comment},
               event="order.released")
    return True
