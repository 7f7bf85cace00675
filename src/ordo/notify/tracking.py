"""The customer's order-status query: no account, the order number and the phone's last four
digits. A wrong phone and an unknown number give the same answer, so the query cannot be used to
find out which order numbers exist."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.tables import Event
from ordo.fulfillment.tables import Shipment
from ordo.kernel.errors import NotFound
from ordo.notify.templates import render
from ordo.order.tables import Order
from ordo.policy import Policy

# Besides the events that send a notice: what else the customer sees on the timeline.
_ALSO_VISIBLE = {"order.created": "placed", "order.complete": "completed"}
_EXTRA_TEXT = {
    "placed": {"en": "Order {order} placed", "zh-CN": "订单 {order} 已提交"},
    "completed": {"en": "Order {order} completed", "zh-CN": "订单 {order} 已完成"},
}


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    text: str


class TrackRead(BaseModel):
    number: str
    status: str
    carrier: str | None
    tracking_numbers: list[str]
    timeline: list[TimelineEntry]


def track(session: Session, policy: Policy, *, number: str, phone_last4: str, language: str) -> TrackRead:
    order = session.scalars(select(Order).where(Order.number == number)).one_or_none()
    if order is None or not phone_last4.isdigit() or len(phone_last4) != 4 or not (order.phone or "").endswith(
        phone_last4
    ):
        raise NotFound("order", number)
    visible = {**policy.notify.customer_events, **_ALSO_VISIBLE}
    events = session.scalars(
        select(Event).where(Event.order_id == order.id, Event.name.in_(sorted(visible))).order_by(Event.id)
    ).all()
    shipments = session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)).all()
    by_id = {s.id: s for s in shipments}
    timeline = []
    for e in events:
        kind = visible[e.name]
        params: dict[str, object] = {"order": order.number, "amount": order.total, "currency": order.currency}
        shipment = by_id.get(e.entity_id) if e.entity == "shipment" else None
        if shipment is not None:
            params |= {"carrier": policy.shipping.carrier_name(shipment.carrier), "tracking": shipment.tracking_number}
        if kind in _EXTRA_TEXT:
            texts = _EXTRA_TEXT[kind]
            text = texts.get(language, texts["en"]).format(order=order.number)
        else:
            text = render(kind, language, params).body
        timeline.append(TimelineEntry(at=e.created_at, event=kind, text=text))
    carriers = [policy.shipping.carrier_name(s.carrier) for s in shipments if s.carrier]
    return TrackRead(
        number=order.number, status=order.status, carrier=carriers[0] if carriers else None,
        tracking_numbers=[s.tracking_number for s in shipments if s.tracking_number], timeline=timeline,
    )
