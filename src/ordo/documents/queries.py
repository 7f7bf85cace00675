"""Document values from the database: who may print what, and what it shows.

Each builder checks the permission and the actor's scope (an order or shipment outside it is
"not found", as everywhere else) and returns a frozen document of ``documents.model``; rendering
happens after the read transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor, Permission
from ordo.channel.tables import Shop
from ordo.documents.model import (
    ConfirmationLine,
    ExpectedTime,
    LabelDoc,
    OrderConfirmationDoc,
    PackingSlipDoc,
    Party,
    PickListDoc,
    PickStop,
    SlipLine,
)
from ordo.fulfillment.queries import PickListView, pick_list_view
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import Conflict, Forbidden, NotFound
from ordo.order.lifecycle import in_scope, load_order
from ordo.order.tables import Order
from ordo.policy import Policy
from ordo.shipping import queries as shipping_queries
from ordo.shipping.queries import LabelView
from ordo.sla.model import ClockStatus
from ordo.sla.tables import SlaClock

SERVICE_TYPE_LABELS = {
    "domestic_express": "国内快递 Domestic express",
    "domestic_freight": "国内物流 Domestic freight",
    "cold_chain": "冷链 Cold chain",
    "intl_air": "国际空运+清关 International air + customs",
    "intl_sea": "国际海运 International sea freight",
    "overseas_warehouse": "海外仓发货+本地配送 Overseas warehouse + local delivery",
}


def _require_any(actor: Actor, *permissions: Permission) -> None:
    if not any(actor.can(p) for p in permissions):
        raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)) or "-",
                        action=" | ".join(p.value for p in permissions))


def _local(at: datetime | None, zone: ZoneInfo) -> datetime | None:
    return at.astimezone(zone) if at is not None else None


def _zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.business_timezone)


def _recipient(order: Order) -> Party:
    street = " ".join(x for x in (order.province, order.city, order.district) if x)
    return Party(
        name=order.customer_name,
        phone=order.phone,
        address=tuple(x for x in (street, order.street) if x),
        country=order.country,
        postcode=order.postcode,
    )


# --- customer order confirmation -----------------------------------------------------------------


def expected_times(order: Order, clocks: Iterable[SlaClock], policy: Policy, zone: ZoneInfo) -> list[ExpectedTime]:
    """The confirmation's expected times: the order's clocks of the steps the policy lists, in the
    policy's order. A listed order-level step that applies to this order but has no clock yet (the
    order predates the rule) is estimated from its time limit when the limit is plain hours."""
    steps = policy.documents.confirmation_steps
    by_step: dict[str, SlaClock] = {}
    for clock in clocks:
        if clock.step in steps and clock.status != ClockStatus.CANCELLED:
            by_step.setdefault(clock.step, clock)
    estimated: dict[str, datetime] = {}
    for rule in policy.sla.clocks:
        if (rule.step in steps and rule.step not in by_step and rule.entity == "order"
                and "order.created" in rule.start
                and (not rule.order_classes or order.order_class in rule.order_classes)
                and (not rule.service_types or order.service_type in rule.service_types)):
            limit = policy.time_limits.get(rule.step)
            if limit is not None and limit.calendar == "elapsed":
                estimated[rule.step] = order.created_at + limit.limit
    out: list[ExpectedTime] = []
    for step, label in steps.items():
        if step in by_step:
            c = by_step[step]
            done = c.stopped_at if c.status == ClockStatus.STOPPED else None
            out.append(ExpectedTime(step, label, _local(c.deadline, zone), _local(done, zone)))
        elif step in estimated:
            out.append(ExpectedTime(step, label, _local(estimated[step], zone)))
    return out


def confirmation_doc(
    session: Session, number: str, actor: Actor, policy: Policy, now: datetime
) -> OrderConfirmationDoc:
    actor.require(Permission.ORDER_READ)
    order = load_order(session, number, actor)
    zone = _zone(policy)
    shop = session.scalar(select(Shop.name).where(Shop.id == order.shop_id)) or ""
    clocks = session.scalars(select(SlaClock).where(SlaClock.order_id == order.id).order_by(SlaClock.id)).all()
    return OrderConfirmationDoc(
        number=order.number,
        issued_at=now.astimezone(zone),
        placed_at=order.placed_at.astimezone(zone),
        shop=shop,
        customer=_recipient(order),
        email=order.email,
        lines=tuple(
            ConfirmationLine(ln.sku_code, ln.name, ln.quantity, ln.unit_price, ln.amount) for ln in order.lines
        ),
        service_type=SERVICE_TYPE_LABELS.get(order.service_type, order.service_type),
        order_class=order.order_class,
        payment_method=order.payment_method,
        payment_status=order.payment_status,
        currency=order.currency,
        goods_total=order.goods_total,
        shipping_fee=order.shipping_fee,
        discounts=order.discounts,
        total=order.total,
        amount_paid=order.amount_paid,
        expected=tuple(expected_times(order, clocks, policy, zone)),
        query_hint=policy.documents.confirmation_query_hint.format(number=order.number),
        timezone=policy.business_timezone,
        remark=order.remark,
    )


# --- shipments: packing slip and label -----------------------------------------------------------


def _shipment(session: Session, number: str, actor: Actor) -> tuple[Shipment, Order, Warehouse]:
    row = session.execute(
        select(Shipment, Order, Warehouse)
        .join(Order, Order.id == Shipment.order_id)
        .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .where(Shipment.number == number)
    ).one_or_none()
    # A warehouse-scoped user sees only the shipments of their warehouses, not the order's others.
    if row is None or not in_scope(session, row[1], actor) or not actor.sees_warehouses([row[2].code]):
        raise NotFound("shipment", number)
    return row[0], row[1], row[2]


def packing_slip_doc(session: Session, number: str, actor: Actor, policy: Policy, now: datetime) -> PackingSlipDoc:
    """The packing slip from shipping's ``packing_slip_view``: the lines and the packing
    instructions the pack step will ask to be confirmed."""
    actor.require(Permission.SHIPMENT_PACK)
    _, order, warehouse = _shipment(session, number, actor)
    view = shipping_queries.packing_slip_view(session, number)
    return PackingSlipDoc(
        shipment=view.shipment,
        order=view.order,
        warehouse=f"{warehouse.name} {warehouse.code}",
        recipient=_recipient(order),
        lines=tuple(SlipLine(line.sku, line.name, line.quantity) for line in view.lines),
        instructions=view.instructions,
        printed_at=now.astimezone(_zone(policy)),
        remark=order.remark,
    )


def label_doc_from_view(view: LabelView, warehouse: Warehouse, printed_at: datetime) -> LabelDoc:
    """The adapter between shipping's label view and the printed label: the carrier and tracking
    number of the booking, the parcels weighed at packing and their chargeable weight."""
    carrier = view.carrier_code or "manual"
    return LabelDoc(
        shipment=view.shipment,
        order=view.order,
        carrier=carrier,
        carrier_name=view.carrier_name or carrier,
        tracking_number=str(view.tracking_number),
        service_type=SERVICE_TYPE_LABELS.get(view.service_type, view.service_type),
        sender=Party(name=f"{view.sender_name} {warehouse.code}", phone=None, address=(warehouse.region,),
                     country=warehouse.country),
        recipient=Party(name=view.recipient_name, phone=view.recipient_phone, address=view.recipient_address_lines,
                        country=view.recipient_country, postcode=view.recipient_postcode),
        parcels=view.parcels,
        # No parcel recorded (a shipment packed before parcels were weighed): no weight to print.
        chargeable_weight_kg=(Decimal(view.chargeable_weight_g) / 1000).quantize(Decimal("0.001"))
        if view.parcels else None,
        printed_at=printed_at,
    )


def label_doc(session: Session, number: str, actor: Actor, policy: Policy, now: datetime) -> LabelDoc:
    """The label of a shipment the carrier has numbered (409 before that)."""
    _require_any(actor, Permission.SHIPMENT_PACK, Permission.SHIPMENT_SHIP)
    shipment, _, warehouse = _shipment(session, number, actor)
    if not shipment.tracking_number:
        raise Conflict("label_no_tracking", shipment=shipment.number)
    return label_doc_from_view(shipping_queries.label_view(session, number), warehouse,
                               now.astimezone(_zone(policy)))


# --- pick lists ----------------------------------------------------------------------------------


def pick_list_doc_from_view(view: PickListView, zone: ZoneInfo) -> PickListDoc:
    """The adapter between the warehouse's pick list view and the printed pick list: stops keep
    the view's route order."""
    return PickListDoc(
        number=view.number,
        warehouse=view.warehouse,
        picker=view.picker,
        route_length_m=float(view.route_length_m),
        created_at=view.created_at.astimezone(zone),
        stops=tuple(
            PickStop(seq=s.seq, bin=s.bin, sku=s.sku, name=s.sku_name, quantity=s.quantity, shipment=s.shipment)
            for s in view.stops
        ),
    )


def pick_list_doc(session: Session, number: str, actor: Actor, policy: Policy) -> PickListDoc:
    actor.require(Permission.SHIPMENT_PICK)
    view = pick_list_view(session, number)
    if not actor.sees_warehouses([view.warehouse]):
        raise NotFound("pick list", number)
    return pick_list_doc_from_view(view, _zone(policy))
