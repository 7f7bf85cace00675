"""Allocating an order: plan with the pure pipeline (``inventory.allocation``), reserve every planned
shipment, create the shipments, move the order — or backorder it with the shortage per line.
One transaction, the caller's.

The stock rows of the order's SKUs, in every warehouse, are read and locked at once in one global
order (warehouse id, then SKU id; ``inventory.handlers.available(lock=True)``), before the plan is
made: two orders never wait on each other in a cycle, whichever warehouses their plans pick, and
the figures planned with stay true until commit. Reservations are still conditional UPDATEs; should
one find too little (it cannot while the rows are held), what was reserved is given back and the
order is planned once more against new figures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, case, exists, select
from sqlalchemy.orm import Session, aliased

from ordo.adapters.db import prepared
from ordo.bootstrap import UnitOfWork
from ordo.catalog.queries import sku_views
from ordo.catalog.tables import Sku
from ordo.customer.tables import Coupon
from ordo.fulfillment import handlers as shipments
from ordo.fulfillment.tables import Shipment
from ordo.inventory import handlers as inventory
from ordo.inventory.allocation import AllocationRequest, Available, Need, Pipeline, Plan, net_of_claims
from ordo.notify.outbox import enqueue
from ordo.order.lifecycle import transition
from ordo.order.states import OrderStatus, OrderTrigger
from ordo.order.tables import Order, OrderLine

ATTEMPTS = 2


class _Taken(Exception):
    """Stock planned for this order was reserved by another one meanwhile."""


Claims = dict[int, int]  # sku id → units that earlier waiting orders need first


def needs_of(order: Order) -> Claims:
    claims: Claims = {}
    for line in order.lines:
        claims[line.sku_id] = claims.get(line.sku_id, 0) + line.quantity
    return claims


def plan_order(uow: UnitOfWork, order: Order, claims: Claims | None = None, stock: Available | None = None) -> Plan:
    """The pipeline's plan for the order against ``stock`` (else the stock available now), less
    ``claims``."""
    session = uow.session
    skus = sorted({line.sku_id for line in order.lines})
    stock = inventory.available(session, skus) if stock is None else stock
    facts = {sku_id: (s.traits, s.category) for sku_id, s in sku_views(session, skus).items()}
    request = AllocationRequest(
        destination=order.country,
        region=order.province,
        service=uow.policy.intake.service_types[order.service_type],
        needs=tuple(Need(line_id=line.id, sku_id=line.sku_id, quantity=line.quantity,
                         traits=facts[line.sku_id][0], category=facts[line.sku_id][1] or "")
                    for line in order.lines),
    )
    return Pipeline(uow.policy.inventory).plan(inventory.warehouse_views(session), request,
                                               net_of_claims(stock, claims or {}))


def allocate_order(uow: UnitOfWork, order: Order, *, actor: str, claims: Claims | None = None,
                   fresh: bool = False, queued: bool = False,
                   within: Collection[tuple[int, int]] | None = None) -> list[Shipment]:
    """Reserve and create the planned shipments; otherwise the order is backordered with the
    shortage per line. A new order plans against the stock left once the orders already waiting
    for the same goods have theirs (their needs are ``claims``); a backorder being served gets the
    claims of the orders still waiting ahead of it from ``serve_backorders``. ``fresh``: the order
    was created in this transaction (it has no shipments yet). ``queued``: this is the decision
    taken again inside the queues of the order's goods (``join_queues``). ``within``: the stock rows
    the caller holds, the only ones planned from (a backorder serving)."""
    session, now = uow.session, uow.clock.now()
    reason = "not enough stock in the warehouses"
    data: dict[str, object] = {}
    skus = sorted({line.sku_id for line in order.lines})
    stock = inventory.available(session, skus, lock=True, within=within)
    if claims is None and order.status != OrderStatus.BACKORDERED:
        ahead = _waiting_ahead(uow, order)
        claims = {}
        for waiting in ahead:
            for sku_id, quantity in needs_of(waiting).items():
                claims[sku_id] = claims.get(sku_id, 0) + quantity
        if ahead:
            reason = "earlier orders wait for the same goods"
            data["behind"] = [o.number for o in ahead[:5]]
            if order.payment_status != "paid" and any(o.payment_status == "paid" for o in ahead) \
                    and not plan_order(uow, order, claims, stock).complete:
                # Paid orders already wait for these goods: the unpaid one does not join the queue.
                close_for_scarcity(uow, order, actor=actor)
                return []
    plan = plan_order(uow, order, claims, stock)
    lost: _Taken | None = None
    for _ in range(ATTEMPTS):
        if not plan.complete:
            break
        try:
            # Each warehouse's reservation is all or nothing by itself (``try_reserve``); a plan
            # across warehouses needs one more savepoint around them all.
            with session.begin_nested() if len(plan.shipments) > 1 else nullcontext():
                for planned in sorted(plan.shipments, key=lambda p: p.warehouse.id):
                    if not inventory.try_reserve(session, warehouse_id=planned.warehouse.id,
                                                 needs=planned.sku_totals(), actor=actor, at=now,
                                                 reference=order.number):
                        raise _Taken(planned)
        except _Taken as taken:
            lost = taken
            stock = inventory.available(session, skus, lock=True, within=within)
            plan = plan_order(uow, order, claims, stock)
            continue
        return _create(uow, order, plan, actor=actor, fresh=fresh, stock=stock)
    if plan.complete and lost is not None:
        # Lost the race twice with stock still in sight: the lines of the warehouse that refused.
        planned = lost.args[0]
        shortage = {line_id: quantity for line_id, _, quantity in planned.lines}
        reason = "stock was taken by concurrent orders"
    else:
        shortage = plan.shortage
    if order.status != OrderStatus.BACKORDERED:
        # The stock rows held since the top make a restock of these goods wait for this order and
        # then find it; goods with no stock row anywhere yet are guarded by their queue instead.
        # A restock this waited for may have added a row that the read could not see (a first
        # receipt in another warehouse, committed while this waited for the rows it read): the
        # decision is taken once more, reading the stock again under the locks.
        if not queued and _concurrent(session):
            join_queues(session, rowless(skus, stock))
            return allocate_order(uow, order, actor=actor, fresh=fresh, queued=True)
        _backorder(uow, order, actor=actor, reason=reason,
                   data={**data, "shortage": {_line_no(order, k): v for k, v in sorted(shortage.items())}})
    return []


def _create(uow: UnitOfWork, order: Order, plan: Plan, *, actor: str, fresh: bool, stock: Available) -> list[Shipment]:
    """The planned shipments, reserved already; ``stock``: what the plan was made against."""
    session, now = uow.session, uow.clock.now()
    created = [
        shipments.create_shipment(
            session, order_id=order.id, order_number=order.number, warehouse_id=planned.warehouse.id,
            lines=_lines(planned.lines), actor=actor, at=now, reason=planned.reason,
            sequence=i if fresh else None,
        )
        for i, planned in enumerate(plan.shipments, 1)
    ]
    left = dict(stock)
    for planned in plan.shipments:
        for sku_id, quantity in planned.sku_totals().items():
            left[(planned.warehouse.id, sku_id)] -= quantity
    inventory.check_reorder(session, uow.policy.inventory, [line.sku_id for line in order.lines], now,
                            falling=True, levels_after=left)
    transition(uow, order, OrderTrigger.ALLOCATE, actor=actor, data={
        "warehouse": plan.shipments[0].warehouse.code if len(plan.shipments) == 1 else None,
        "shipments": [{"warehouse": p.warehouse.code, "reason": p.reason} for p in plan.shipments],
    })
    return created


def _backorder(uow: UnitOfWork, order: Order, *, actor: str, reason: str, data: dict[str, object]) -> None:
    """Backorder the order and ask customer service to offer waiting, a substitute or cancellation
    (each an order action); the customer is told by the out-of-stock notice."""
    transition(uow, order, OrderTrigger.BACKORDER, actor=actor, reason=reason, data=data)
    enqueue(uow.session, topic="order.backordered", key=f"order.backordered:{order.number}",
            audience="customer_service", at=uow.clock.now(), order_id=order.id,
            payload={"order": order.number, "reason": reason, **data, "choices": ["wait", "substitute", "cancel"]})


# Made once: the first use of each column of a new alias builds its proxies, which cost every
# intake (it reads the queue) about 0.7 ms.
_QUEUED_LINE = aliased(OrderLine, name="queued_line")


def backordered_needing(sku_ids: Iterable[int] | BindParameter[Any]) -> ColumnElement[bool]:
    """The order is backordered and has a line of one of these SKUs (or of the expanding parameter's,
    in a statement built once). Read from the backordered orders (few) with each one's own lines —
    not from every line ever sold of these SKUs."""
    line = _QUEUED_LINE
    skus = sku_ids if isinstance(sku_ids, BindParameter) else sorted(set(sku_ids))
    return and_(Order.status == OrderStatus.BACKORDERED,
                exists().where(line.order_id == Order.id, line.sku_id.in_(skus)))


def _concurrent(session: Session) -> bool:
    """Whether writers run side by side (PostgreSQL; SQLite's run one at a time)."""
    return session.get_bind().dialect.name == "postgresql"


def rowless(sku_ids: Iterable[int], stock: Iterable[tuple[int, int]]) -> list[int]:
    """The SKUs that have no stock row in any warehouse (``stock``: (warehouse id, SKU id) keys)."""
    known = {sku_id for _, sku_id in stock}
    return sorted(set(sku_ids) - known)


def lock_queues(session: Session, sku_ids: Iterable[int]) -> None:
    """A restock's (or a serving's) lock on the backorder queues of these SKUs, which guards goods
    without a stock row (see ``join_queues``): their catalog rows, in id order, exclusively (FOR NO
    KEY UPDATE, which the foreign keys of new order lines and ledger rows do not wait for). Nothing
    to do on SQLite."""
    ids = sorted(set(sku_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Sku.id).where(Sku.id.in_(ids)).order_by(Sku.id).with_for_update(key_share=True))


def join_queues(session: Session, sku_ids: Iterable[int]) -> None:
    """A command about to leave an order waiting for goods decides under their stock rows, which it
    holds (``inventory.handlers.available(lock=True)``): a restock of those goods, which locks the
    same rows before it reads its queue a last time, either came first (its stock is read) or waits
    and then finds the order. Goods without any stock row yet have nothing to hold: for them the
    command takes their queue's lock shared (the catalog rows FOR SHARE: two such commands do not
    wait for each other), which a restock of them takes exclusively (``lock_queues``), and the
    caller reads the stock again (PostgreSQL; SQLite's writers run one at a time)."""
    ids = sorted(set(sku_ids))
    if ids and _concurrent(session):
        session.execute(select(Sku.id).where(Sku.id.in_(ids)).order_by(Sku.id).with_for_update(read=True))


# The backorder queue's order: paid before unpaid (cash on delivery), then VIP level, then first come.
PRIORITY = (case((Order.payment_status == "paid", 0), else_=1), Order.vip_level.desc(), Order.created_at, Order.id)


def priority(order: Order) -> tuple[int, int, datetime, int]:
    """``PRIORITY`` of one order, to compare in Python."""
    return (0 if order.payment_status == "paid" else 1), -order.vip_level, order.created_at, order.id


def _waiting_ahead(uow: UnitOfWork, order: Order) -> list[Order]:
    """Backordered orders ahead of this one in the queue's order that need any of its SKUs. Those
    behind it (a new paid or VIP order passes unpaid or lower ones) would be served after it by the
    next restock anyway, so they do not keep it from stock that is free now."""
    session = uow.session
    ids = prepared.execute(prepared.connection(session), _WAITING, {
        "sku_ids": sorted({line.sku_id for line in order.lines}), "order_id": order.id}).scalars().all()
    if not ids:
        return []  # nobody waits for these goods: the common case, one plain query
    mine = priority(order)
    statement = select(Order).where(Order.id.in_(ids)).order_by(*PRIORITY)
    return [o for o in session.scalars(statement) if priority(o) < mine]


_WAITING = select(Order.id).where(backordered_needing(bindparam("sku_ids", expanding=True)),
                                   Order.id != bindparam("order_id"))


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
