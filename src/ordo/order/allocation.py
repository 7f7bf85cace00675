"""Allocating an order: plan with the pure pipeline (``inventory.allocation``), reserve every planned
shipment, create the shipments, move the order — or backorder it with the shortage per line.
One transaction, the caller's.

Reservations are conditional UPDATEs taken in one global order (warehouse id, then SKU id), so two
orders never wait on each other in a cycle; if stock went to someone else between planning and
reserving, everything reserved so far is undone (savepoint) and the order is planned once more
against the new figures.
"""

from __future__ import annotations

from sqlalchemy import select

from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.customer.tables import Coupon
from ordo.fulfillment import handlers as shipments
from ordo.fulfillment.tables import Shipment
from ordo.inventory import handlers as inventory
from ordo.inventory.allocation import AllocationRequest, Need, Pipeline, Plan
from ordo.notify.outbox import enqueue
from ordo.order.lifecycle import transition
from ordo.order.states import OrderStatus, OrderTrigger
from ordo.order.tables import Order, OrderLine

ATTEMPTS = 2


class _Taken(Exception):
    """Stock planned for this order was reserved by another one meanwhile."""


def plan_order(uow: UnitOfWork, order: Order) -> Plan:
    session = uow.session
    skus = sorted({line.sku_id for line in order.lines})
    facts = {sku_id: (traits, category) for sku_id, traits, category in
             session.execute(select(Sku.id, Sku.traits, Sku.category).where(Sku.id.in_(skus)))}
    request = AllocationRequest(
        destination=order.country,
        region=order.province,
        service=uow.policy.intake.service_types[order.service_type],
        needs=tuple(Need(line_id=line.id, sku_id=line.sku_id, quantity=line.quantity,
                         traits=frozenset(facts[line.sku_id][0] or ()), category=facts[line.sku_id][1] or "")
                    for line in order.lines),
    )
    return Pipeline(uow.policy.inventory).plan(inventory.warehouse_views(session), request,
                                               inventory.available(session, skus))


def allocate_order(uow: UnitOfWork, order: Order, *, actor: str) -> list[Shipment]:
    """Reserve and create the planned shipments; otherwise the order is backordered."""
    session, now = uow.session, uow.clock.now()
    ahead = [] if order.status == OrderStatus.BACKORDERED else _waiting_ahead(uow, order)
    if ahead and order.payment_status != "paid" and _waiting_ahead(uow, order, paid_only=True):
        # Paid orders already wait for these goods: the unpaid one does not join the queue.
        close_for_scarcity(uow, order, actor=actor)
        return []
    if ahead:
        # Scarce goods go first come, first served: a new order does not take stock that earlier
        # backordered orders wait for; it joins the queue behind them.
        _backorder(uow, order, actor=actor, reason="earlier orders wait for the same goods", data={"behind": ahead})
        return []
    for _ in range(ATTEMPTS):
        plan = plan_order(uow, order)
        if not plan.complete:
            break
        try:
            with session.begin_nested():
                for planned in sorted(plan.shipments, key=lambda p: p.warehouse.id):
                    if not inventory.try_reserve(session, warehouse_id=planned.warehouse.id,
                                                 needs=planned.sku_totals(), actor=actor, at=now,
                                                 reference=order.number):
                        raise _Taken
        except _Taken:
            continue
        created = [
            shipments.create_shipment(
                session, order_id=order.id, order_number=order.number, warehouse_id=planned.warehouse.id,
                lines=_lines(planned.lines), actor=actor, at=now, reason=planned.reason,
            )
            for planned in plan.shipments
        ]
        inventory.check_reorder(session, uow.policy.inventory, [line.sku_id for line in order.lines], now)
        transition(uow, order, OrderTrigger.ALLOCATE, actor=actor, data={
            "warehouse": plan.shipments[0].warehouse.code if len(plan.shipments) == 1 else None,
            "shipments": [{"warehouse": p.warehouse.code, "reason": p.reason} for p in plan.shipments],
        })
        return created
    if order.status != OrderStatus.BACKORDERED:
        _backorder(uow, order, actor=actor, reason="not enough stock in the warehouses",
                   data={"shortage": {_line_no(order, k): v for k, v in plan.shortage.items()}})
    return []


def _backorder(uow: UnitOfWork, order: Order, *, actor: str, reason: str, data: dict[str, object]) -> None:
    """Backorder the order and ask customer service to offer waiting, a substitute or cancellation
    (each an order action); the customer is told by the out-of-stock notice."""
    transition(uow, order, OrderTrigger.BACKORDER, actor=actor, reason=reason, data=data)
    enqueue(uow.session, topic="order.backordered", key=f"order.backordered:{order.number}",
            audience="customer_service", at=uow.clock.now(), order_id=order.id,
            payload={"order": order.number, "reason": reason, **data, "choices": ["wait", "substitute", "cancel"]})


def _waiting_ahead(uow: UnitOfWork, order: Order, *, paid_only: bool = False) -> list[str]:
    skus = sorted({line.sku_id for line in order.lines})
    statement = select(Order.number).where(
        Order.status == OrderStatus.BACKORDERED, Order.id != order.id,
        Order.id.in_(select(OrderLine.order_id).where(OrderLine.sku_id.in_(skus))),
    )
    if paid_only:
        statement = statement.where(Order.payment_status == "paid")
    return list(uow.session.scalars(statement.order_by(Order.id).limit(5)))


def close_for_scarcity(uow: UnitOfWork, order: Order, *, actor: str) -> None:
    """Scarce goods go to paid orders first; an unpaid order (cash on delivery) that would wait for
    them is cancelled with an apology coupon (policy ``inventory.apology_coupon``)."""
    amount, currency = uow.policy.inventory.apology_coupon, uow.policy.inventory.apology_coupon_currency
    uow.session.add(Coupon(customer_id=order.customer_id, order_id=order.id, amount=amount, currency=currency,
                           reason="scarce stock: unpaid order closed", issued_at=uow.clock.now()))
    transition(uow, order, OrderTrigger.CANCEL, actor=actor, reason="scarce stock: paid orders first",
               data={"apology_coupon": str(amount), "currency": currency})


def _lines(planned: tuple[tuple[int, int, int], ...]) -> dict[int, tuple[int, int]]:
    lines: dict[int, tuple[int, int]] = {}
    for line_id, sku_id, quantity in planned:
        lines[line_id] = (sku_id, lines.get(line_id, (sku_id, 0))[1] + quantity)
    return lines


def _line_no(order: Order, line_id: int) -> str:
    line = next(line for line in order.lines if line.id == line_id)
    return f"{line.line_no}:{line.sku_code}"
