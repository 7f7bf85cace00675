"""Read side for orders: the detail with its timeline, and filtered, cursor-paginated lists."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, inspect, select
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.fulfillment.states import SHIPMENT, rollup
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import Problem, ValidationFailed
from ordo.order.actions import available
from ordo.order.lifecycle import holds_of, load_order, shop_code
from ordo.order.rules import normalise_phone
from ordo.order.schemas import (
    AddressRead,
    EventRead,
    HoldRead,
    LineRead,
    OrderDetail,
    OrderPage,
    OrderSummary,
    ShipmentLineRead,
    ShipmentRead,
)
from ordo.order.tables import Order, OrderLine
from ordo.policy import Policy
from ordo.review.queries import review_of
from ordo.shipping.crossborder.queries import legs_by_shipment
from ordo.sla.queries import clocks_of_order

MAX_PAGE = 200


def _summary(order: Order, shop_code: str) -> dict[str, object]:
    return {
        "number": order.number,
        "shop": shop_code,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": order.status,
        "payment_status": order.payment_status,
        "order_class": order.order_class,
        "service_type": order.service_type,
        "customer_name": order.customer_name,
        "phone": order.phone,
        "currency": order.currency,
        "total": order.total,
        "created_at": order.created_at,
    }


def _visible(session: Session, number: str, actor: Actor, order: Order | None) -> Order:
    """The order if the actor may see it; ``order``: the one a command of this session has just
    created for the actor or acted on for it (the command checked the actor's scope), which is its
    answer even where the actor's warehouses would not show it — a warehouse-scoped clerk creating an
    order allocated elsewhere is told its number, not "not found" (nor is the intake undone)."""
    return load_order(session, number, actor) if order is None else order


def order_summary(session: Session, number: str, actor: Actor, *, order: Order | None = None) -> OrderSummary:
    """The order as a list shows it: the short answer a client asks for with ``Prefer: return=minimal``.
    ``order``: the order a command of this session has loaded or created (its answer)."""
    order = _visible(session, number, actor, order)
    return OrderSummary(**_summary(order, shop_code(session, order)))


# The detail's reads, built once and run as prepared statements answering plain rows (nothing in
# the detail is changed, so no ORM object is needed): each would otherwise cost more Python than
# its query.
_SHIPMENTS = (select(Shipment.id, Shipment.number, Shipment.status, Shipment.carrier, Shipment.tracking_number,
                     Warehouse.code.label("warehouse"))
              .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
              .where(Shipment.order_id == bindparam("order_id")).order_by(Shipment.id))
_SHIPMENT_LINES = (select(ShipmentLine.shipment_id, ShipmentLine.sku_id, ShipmentLine.quantity)
                   .where(ShipmentLine.shipment_id.in_(bindparam("shipment_ids", expanding=True)))
                   .order_by(ShipmentLine.id))
_LINES = (select(OrderLine.line_no, OrderLine.sku_id, OrderLine.sku_code, OrderLine.name, OrderLine.quantity,
                 OrderLine.unit_price, OrderLine.amount)
          .where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.line_no))
_SKU_CODES = select(Sku.id, Sku.code).where(Sku.id.in_(bindparam("sku_ids", expanding=True)))
_EVENTS = (select(Event.created_at, Event.actor, Event.name, Event.from_state, Event.to_state, Event.reason,
                  Event.data)
           .where(Event.order_id == bindparam("order_id")).order_by(Event.id))


def order_detail(session: Session, number: str, actor: Actor, locale: str = "en", *,
                 order: Order | None = None) -> OrderDetail:
    order = _visible(session, number, actor, order)
    code = shop_code(session, order)
    connection = prepared.connection(session)  # after the autoflush an ORM read would do
    shipment_rows = prepared.execute(connection, _SHIPMENTS, {"order_id": order.id})
    shipment_lines: dict[int, list[Any]] = {s.id: [] for s in shipment_rows}
    if shipment_rows:
        for line in prepared.execute(connection, _SHIPMENT_LINES, {"shipment_ids": list(shipment_lines)}):
            shipment_lines[line.shipment_id].append(line)
    # The lines as the session holds them if a command of this session loaded them, else read.
    lines = (order.lines if "lines" in inspect(order).dict
             else prepared.execute(connection, _LINES, {"order_id": order.id}))
    # Shipment lines name SKUs by id: the order's lines know most codes; a substitute is looked up.
    sku_codes = {ln.sku_id: ln.sku_code for ln in lines}
    unknown = sorted({sl.sku_id for rows in shipment_lines.values() for sl in rows} - sku_codes.keys())
    if unknown:
        sku_codes.update(prepared.execute(connection, _SKU_CODES, {"sku_ids": unknown}))
    events = prepared.execute(connection, _EVENTS, {"order_id": order.id})
    legs = legs_by_shipment(
        session, session.info.get("policy") or Policy(), order.service_type, [s.id for s in shipment_rows]
    )
    return OrderDetail(
        **_summary(order, code),
        email=order.email,
        vip_level=order.vip_level,
        address=AddressRead(
            country=order.country,
            province=order.province,
            city=order.city,
            district=order.district,
            street=order.street,
            postcode=order.postcode,
            remote_area=order.remote_area,
        ),
        goods_total=order.goods_total,
        shipping_fee=order.shipping_fee,
        discounts=order.discounts,
        amount_paid=order.amount_paid,
        payment_method=order.payment_method,
        remark=order.remark,
        placed_at=order.placed_at,
        shipping_progress=rollup([s.status for s in shipment_rows]),
        allowed_actions=available(
            status=order.status,
            payment_status=order.payment_status,
            shipment_statuses=[s.status for s in shipment_rows],
            actor=actor,
        ),
        lines=[
            LineRead(
                line_no=ln.line_no,
                sku=ln.sku_code,
                name=ln.name,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
            )
            for ln in lines
        ],
        holds=[
            HoldRead(
                reason=h.reason,
                note=h.note,
                placed_by=h.placed_by,
                placed_at=h.placed_at,
                released_by=h.released_by,
                released_at=h.released_at,
            )
            for h in holds_of(order)
        ],
        shipments=[
            ShipmentRead(
                number=s.number,
                warehouse=s.warehouse,
                status=s.status,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                lines=[ShipmentLineRead(sku=sku_codes.get(sl.sku_id, ""), quantity=sl.quantity)
                       for sl in shipment_lines[s.id]],
                allowed_actions=SHIPMENT.allowed(s.status),
                legs=legs[s.id],
            )
            for s in shipment_rows
        ],
        events=[
            EventRead(
                at=e.created_at,
                actor=e.actor,
                name=e.name,
                from_state=e.from_state,
                to_state=e.to_state,
                reason=e.reason,
                data=e.data,
            )
            for e in events
        ],
        clocks=clocks_of_order(session, order.id),
        review=review_of(session, order.id, locale, events),
    )


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    channel: str | None = None
    shop: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    phone: str | None = None
    sku: str | None = None
    order_class: str | None = None


def encode_cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(str(order_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise ValidationFailed(
            [Problem("cursor", "invalid_type", {"path": "cursor", "expected": "a cursor"})]
        ) from None


def _filtered(
    statement: Select[tuple[Order, str]], f: OrderFilter, actor: Actor, home: str
) -> Select[tuple[Order, str]]:
    if f.status:
        statement = statement.where(Order.status == f.status)
    if f.channel:
        statement = statement.where(Order.channel == f.channel)
    if f.shop:
        statement = statement.where(Shop.code == f.shop)
    if f.order_class:
        statement = statement.where(Order.order_class == f.order_class)
    if f.created_from:
        statement = statement.where(Order.created_at >= f.created_from)
    if f.created_to:
        statement = statement.where(Order.created_at < f.created_to)
    if f.phone:
        e164, _, _ = normalise_phone(f.phone, home)
        statement = statement.where(Order.phone == (e164 or f.phone))
    if f.sku:
        statement = statement.where(exists().where(OrderLine.order_id == Order.id, OrderLine.sku_code == f.sku))
    if actor.shops:
        statement = statement.where(Shop.code.in_(sorted(actor.shops)))
    if actor.warehouses:
        statement = statement.where(
            exists().where(
                Shipment.order_id == Order.id,
                Shipment.warehouse_id == Warehouse.id,
                Warehouse.code.in_(sorted(actor.warehouses)),
            )
        )
    return statement


def list_orders(
    session: Session, f: OrderFilter, actor: Actor, *, home_country: str, cursor: str | None = None, limit: int = 50
) -> OrderPage:
    """Newest first; the cursor is the id of the last order seen, so pages stay stable under inserts."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = _filtered(select(Order, Shop.code).join(Shop, Shop.id == Order.shop_id), f, actor, home_country)
    if cursor:
        statement = statement.where(Order.id < decode_cursor(cursor))
    rows = session.execute(statement.order_by(Order.id.desc()).limit(limit + 1)).all()
    items = [OrderSummary(**_summary(order, code)) for order, code in rows[:limit]]  # type: ignore[arg-type]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return OrderPage(items=items, next_cursor=next_cursor)
