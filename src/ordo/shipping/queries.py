"""Read side of shipping: the packer's instructions, the shipment's shipping record, the label and
packing slip data (for the PDF documents), follow-up tasks. Plain values, no ORM rows escape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor
from ordo.catalog.tables import Sku
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import NotFound
from ordo.order.lifecycle import in_scope
from ordo.order.tables import Order, OrderLine
from ordo.policy import Policy
from ordo.shipping import steps
from ordo.shipping.stalls import stalled_clocks
from ordo.shipping.tables import FollowupTask, ShippingRecord, TrackingEvent
from ordo.sla.tables import SlaClock


@dataclass(frozen=True)
class PackingView:
    shipment: str
    status: str
    instructions: tuple[str, ...]
    temperature_logger_required: bool


@dataclass(frozen=True)
class ParcelView:
    seq: int
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    volumetric_weight_g: int | None
    chargeable_weight_g: int | None


@dataclass(frozen=True)
class TrackingEventView:
    kind: str
    at: datetime
    location: str | None
    note: str | None
    source: str
    adjusted: str | None


@dataclass(frozen=True)
class ShippingView:
    shipment: str
    order: str
    status: str
    carrier: str | None
    carrier_rule: str | None
    carrier_reason: str | None
    carrier_overridden: bool
    service: str | None  # the carrier's service booked at hand-over
    tracking_number: str | None
    temperature_logger_id: str | None
    confirmed: tuple[str, ...]
    parcels: tuple[ParcelView, ...]
    chargeable_weight_g: int
    last_movement_at: datetime | None
    stalled: bool
    events: tuple[TrackingEventView, ...]


@dataclass(frozen=True)
class LabelView:
    shipment: str
    order: str
    carrier_code: str | None
    carrier_name: str | None
    tracking_number: str | None
    service_type: str
    sender_name: str
    sender_address: str
    recipient_name: str
    recipient_phone: str | None
    recipient_address_lines: tuple[str, ...]
    recipient_country: str
    recipient_postcode: str | None
    parcels: int
    chargeable_weight_g: int


@dataclass(frozen=True)
class SlipLine:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class PackingSlipView:
    shipment: str
    order: str
    lines: tuple[SlipLine, ...]
    instructions: tuple[str, ...]


@dataclass(frozen=True)
class FollowupView:
    id: int
    kind: str
    order: str
    shipment: str | None
    status: str
    created_at: datetime
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str | None


def _shipment(session: Session, number: str) -> tuple[Shipment, Order]:
    shipment = session.scalars(select(Shipment).where(Shipment.number == number)).one_or_none()
    if shipment is None:
        raise NotFound("shipment", number)
    return shipment, session.get_one(Order, shipment.order_id)


def _policy(session: Session) -> Policy:
    return session.info.get("policy") or Policy()


def packing(session: Session, shipment_number: str, policy: Policy | None = None) -> PackingView:
    shipment, _ = _shipment(session, shipment_number)
    plan = steps.plan_for(session, shipment, policy or _policy(session))
    return PackingView(shipment.number, shipment.status, plan.instructions, plan.temperature_logger)


def _parcels(session: Session, shipment: Shipment) -> tuple[ParcelView, ...]:
    return tuple(
        ParcelView(p.seq, p.weight_g, p.length_mm, p.width_mm, p.height_mm, p.volumetric_weight_g,
                   p.chargeable_weight_g)
        for p in steps.parcels_of(session, shipment.id)
    )


def _chargeable(parcels: tuple[ParcelView, ...]) -> int:
    return sum(p.chargeable_weight_g if p.chargeable_weight_g is not None else p.weight_g for p in parcels)


def shipping(session: Session, shipment_number: str) -> ShippingView:
    shipment, order = _shipment(session, shipment_number)
    rec = session.get(ShippingRecord, shipment.id)
    parcels = _parcels(session, shipment)
    events = tuple(
        TrackingEventView(e.kind, e.at, e.location, e.note, e.source, e.adjusted)
        for e in session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)
                                 .order_by(TrackingEvent.at, TrackingEvent.id))
    )
    return ShippingView(
        shipment=shipment.number, order=order.number, status=shipment.status, carrier=shipment.carrier,
        carrier_rule=rec.carrier_rule if rec else None, carrier_reason=rec.carrier_reason if rec else None,
        carrier_overridden=bool(rec and rec.carrier_overridden), service=rec.booked_service if rec else None,
        tracking_number=shipment.tracking_number,
        temperature_logger_id=rec.temperature_logger_id if rec else None,
        confirmed=tuple(rec.confirmed) if rec else (), parcels=parcels, chargeable_weight_g=_chargeable(parcels),
        last_movement_at=rec.last_movement_at if rec else None,
        stalled=session.scalar(select(SlaClock.id).where(stalled_clocks(_policy(session)),
                                                         SlaClock.entity_id == shipment.id).limit(1)) is not None,
        events=events,
    )


def stalled(session: Session, *, limit: int = 500) -> list[str]:
    """The shipments stalled now (their no-movement clock breached and nothing moved since), the
    longest stalled first."""
    return list(session.scalars(
        select(Shipment.number).join(SlaClock, SlaClock.entity_id == Shipment.id)
        .where(stalled_clocks(_policy(session))).order_by(SlaClock.started_at, Shipment.id).limit(limit)
    ))


def label_view(session: Session, shipment_number: str) -> LabelView:
    """Everything the 100×150 mm shipping label prints."""
    shipment, order = _shipment(session, shipment_number)
    warehouse = session.get_one(Warehouse, shipment.warehouse_id)
    rec = session.get(ShippingRecord, shipment.id)
    parcels = _parcels(session, shipment)
    lines = tuple(
        part for part in (
            " ".join(p for p in (order.province, order.city, order.district) if p),
            order.street,
        ) if part
    )
    return LabelView(
        shipment=shipment.number, order=order.number, carrier_code=shipment.carrier,
        carrier_name=_policy(session).shipping.carrier_name(shipment.carrier),
        tracking_number=shipment.tracking_number,
        service_type=rec.booked_service if rec and rec.booked_service else order.service_type,
        sender_name=warehouse.name,
        sender_address=" ".join(p for p in (warehouse.region, warehouse.country) if p),
        recipient_name=order.customer_name, recipient_phone=order.phone, recipient_address_lines=lines,
        recipient_country=order.country, recipient_postcode=order.postcode, parcels=len(parcels),
        chargeable_weight_g=_chargeable(parcels),
    )


def packing_slip_view(session: Session, shipment_number: str) -> PackingSlipView:
    """What goes in the box: the shipment's lines (SKU, name, quantity) and the packing instructions."""
    shipment, order = _shipment(session, shipment_number)
    rows = session.execute(
        select(Sku.code, OrderLine.name, ShipmentLine.quantity)
        .join(Sku, Sku.id == ShipmentLine.sku_id)
        .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(ShipmentLine.id)
    ).all()
    plan = steps.plan_for(session, shipment, _policy(session))
    return PackingSlipView(shipment.number, order.number, tuple(SlipLine(c, n, q) for c, n, q in rows),
                           plan.instructions)


def followups(session: Session, actor: Actor, *, status: str | None, limit: int = 200,
              task_id: int | None = None) -> list[FollowupView]:
    """Follow-up tasks, soonest due first, of the orders the actor may see."""
    statement = (
        select(FollowupTask, Order, Shipment.number)
        .join(Order, Order.id == FollowupTask.order_id)
        .outerjoin(Shipment, Shipment.id == FollowupTask.shipment_id)
        .order_by(FollowupTask.due_at, FollowupTask.id).limit(limit)
    )
    if status:
        statement = statement.where(FollowupTask.status == status)
    if task_id is not None:
        statement = statement.where(FollowupTask.id == task_id)
    return [
        FollowupView(t.id, t.kind, o.number, s, t.status, t.created_at, t.due_at, t.done_at, t.done_by, t.note)
        for t, o, s in session.execute(statement)
        if in_scope(session, o, actor)
    ]
