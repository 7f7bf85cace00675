"""Backorders (pre-orders): served when goods arrive, in priority order, and the customer's choices
while waiting (wait, substitute a SKU, cancel)."""

from __future__ import annotations

from sqlalchemy import case, select

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.kernel.errors import Conflict, Problem, ValidationFailed
from ordo.order import lifecycle
from ordo.order.allocation import allocate_order, close_for_scarcity
from ordo.order.lifecycle import SYSTEM, load_order
from ordo.order.states import OrderStatus
from ordo.order.tables import Order, OrderLine
from ordo.policy import Trait


def waiting_for(uow: UnitOfWork, sku_ids: list[int]) -> list[Order]:
    """Backordered orders that need any of these SKUs: paid before unpaid (cash on delivery), then
    VIP level, then first come first served."""
    return list(uow.session.scalars(
        select(Order)
        .where(Order.status == OrderStatus.BACKORDERED,
               Order.id.in_(select(OrderLine.order_id).where(OrderLine.sku_id.in_(sku_ids))))
        .order_by(case((Order.payment_status == "paid", 0), else_=1), Order.vip_level.desc(), Order.created_at,
                  Order.id)
        .with_for_update()
    ))


def serve_backorders(uow: UnitOfWork, sku_ids: list[int]) -> list[str]:
    """Allocate waiting orders in priority order. The first one that still cannot be served in full
    stops the round: stock that arrived is not handed to a later order while an earlier one waits."""
    served: list[str] = []
    queue = waiting_for(uow, sku_ids)
    for position, order in enumerate(queue):
        if not allocate_order(uow, order, actor=SYSTEM):
            if order.payment_status == "paid":
                # Scarce: paid orders still wait, so the unpaid ones behind them are closed.
                for later in queue[position + 1:]:
                    if later.payment_status != "paid":
                        close_for_scarcity(uow, later, actor=SYSTEM)
            break
        served.append(order.number)
    return served


def _backordered(uow: UnitOfWork, number: str, actor: Actor) -> Order:
    actor.require(Permission.ORDER_HOLD)
    order = load_order(uow.session, number, actor, for_update=True)
    if order.status != OrderStatus.BACKORDERED:
        raise Conflict("not_backordered", number=number, status=order.status)
    return order


def wait(uow: UnitOfWork, *, number: str, actor: Actor, note: str | None = None) -> Order:
    """The customer chose to wait: recorded; the order keeps its place in the queue."""
    order = _backordered(uow, number, actor)
    lifecycle.note(uow, order, "order.wait", actor=actor.name, reason=note)
    return order


def substitute(uow: UnitOfWork, *, number: str, actor: Actor, line_no: int, sku: str, note: str | None = None) -> Order:
    """The customer accepted another SKU for a line (same quantity and price); allocation is tried
    again at once."""
    order = _backordered(uow, number, actor)
    line = next((x for x in order.lines if x.line_no == line_no), None)
    problems = []
    if line is None:
        problems.append(Problem("line_no", "unknown_line", {"path": "line_no", "value": line_no}))
    replacement = uow.session.scalars(select(Sku).where(Sku.code == sku.strip(), Sku.active.is_(True))).first()
    if replacement is None:
        problems.append(Problem("sku", "sku_unknown", {"path": "sku", "value": sku}))
    elif Trait.PROHIBITED in (replacement.traits or ()) or \
            replacement.category in uow.policy.intake.prohibited_categories:
        problems.append(Problem("sku", "sku_prohibited", {"path": "sku", "value": sku,
                                                           "reason": replacement.category}))
    if problems:
        raise ValidationFailed(problems)
    assert line is not None and replacement is not None
    before = line.sku_code
    line.sku_id, line.sku_code, line.name = replacement.id, replacement.code, replacement.name
    lifecycle.note(uow, order, "order.substitute", actor=actor.name, reason=note,
                   data={"line": line_no, "from": before, "to": replacement.code})
    uow.session.flush()
    allocate_order(uow, order, actor=actor.name)
    return order
