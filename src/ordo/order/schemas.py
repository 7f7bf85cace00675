"""What the API returns for orders. Money is a decimal string with its currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ordo.review.schemas import ReviewRead
from ordo.shipping.crossborder.schemas import LegRead
from ordo.sla.schemas import ClockRead


class LineRead(BaseModel):
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class HoldRead(BaseModel):
    reason: str
    note: str | None
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None


class ShipmentLineRead(BaseModel):
    sku: str
    quantity: int


class ShipmentRead(BaseModel):
    number: str
    warehouse: str
    status: str
    carrier: str | None
    tracking_number: str | None
    lines: list[ShipmentLineRead]
    allowed_actions: list[str]
    # The cross-border legs its service type plans (none for domestic service), with their times.
    legs: list[LegRead] = []


class EventRead(BaseModel):
    at: datetime
    actor: str
    name: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any]


class AddressRead(BaseModel):
    country: str
    province: str | None
    city: str
    district: str | None
    street: str
    postcode: str | None
    remote_area: bool


class OrderSummary(BaseModel):
    number: str
    shop: str
    channel: str
    external_id: str
    status: str
    payment_status: str
    order_class: str
    service_type: str
    customer_name: str
    phone: str | None
    currency: str
    total: Decimal
    created_at: datetime


class OrderDetail(OrderSummary):
    email: str | None
    vip_level: int
    address: AddressRead
    goods_total: Decimal
    shipping_fee: Decimal
    discounts: Decimal
    amount_paid: Decimal
    payment_method: str
    remark: str | None
    placed_at: datetime
    shipping_progress: str
    allowed_actions: list[str]
    lines: list[LineRead]
    holds: list[HoldRead]
    shipments: list[ShipmentRead]
    events: list[EventRead]
    clocks: list[ClockRead] = []
    review: ReviewRead | None = None


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None
