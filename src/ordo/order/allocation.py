"""Allocating an order: rank the warehouses (pure), reserve in the best one, create the shipment,
move the order — or backorder it. One transaction, the caller's."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment import handlers as shipments
from ordo.fulfillment.tables import Shipment
from ordo.inventory import handlers as inventory
from ordo.inventory.allocation import rank_warehouses, required_capabilities
from ordo.order.lifecycle import transition
from ordo.order.states import OrderStatus, OrderTrigger
from ordo.order.tables import Order


def allocate_order(uow: UnitOfWork, order: Order, *, actor: str) -> Shipment | None:
    """Reserve everything in one warehouse that holds it all; otherwise the order is backordered."""
    session, now = uow.session, uow.clock.now()
    needs: dict[int, int] = defaultdict(int)
    for line in order.lines:
        needs[line.sku_id] += line.quantity
    traits = session.scalars(select(Sku.traits).where(Sku.id.in_(needs))).all()
    service = uow.policy.intake.service_types[order.service_type]
    candidates = rank_warehouses(
        inventory.warehouse_views(session),
        needs=needs,
        available=inventory.available(session, sorted(needs)),
        destination=order.country,
        service=service,
        capabilities=required_capabilities(service, [frozenset(t or ()) for t in traits]),
    )
    for warehouse in candidates:
        if inventory.try_reserve(
            session, warehouse_id=warehouse.id, needs=needs, actor=actor, at=now, reference=order.number
        ):
            shipment = shipments.create_shipment(
                session,
                order_id=order.id,
                order_number=order.number,
                warehouse_id=warehouse.id,
                lines={line.id: (line.sku_id, line.quantity) for line in order.lines},
                actor=actor,
                at=now,
                reason=f"{warehouse.code}: priority {warehouse.priority}, holds every line",
            )
            transition(uow, order, OrderTrigger.ALLOCATE, actor=actor, data={"warehouse": warehouse.code})
            return shipment
    if order.status != OrderStatus.BACKORDERED:
        transition(
            uow,
            order,
            OrderTrigger.BACKORDER,
            actor=actor,
            reason="no single warehouse holds every line",
            data={"needs": {str(k): v for k, v in needs.items()}},
        )
    return None


