"""What the printed documents show: plain frozen values, the renderers' only input.

The read side (``documents.queries``) fills them from the database; tests build them by hand. Times
are already in the time zone they are printed in; money is a ``Decimal`` with its currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class PickStop:
    seq: int
    bin: str
    sku: str
    name: str
    quantity: int
    shipment: str


@dataclass(frozen=True)
class PickListDoc:
    """A pick list in route order: ``stops`` are printed in the order given."""

    number: str
    warehouse: str
    picker: str | None
    route_length_m: float
    created_at: datetime
    stops: tuple[PickStop, ...]

    @property
    def total_quantity(self) -> int:
        return sum(s.quantity for s in self.stops)


@dataclass(frozen=True)
class Party:
    """A sender or a recipient: a name, a phone, and the address as printed lines."""

    name: str
    phone: str | None
    address: tuple[str, ...]
    country: str
    postcode: str | None = None


@dataclass(frozen=True)
class SlipLine:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class PackingSlipDoc:
    shipment: str
    order: str
    warehouse: str
    recipient: Party
    lines: tuple[SlipLine, ...]
    # What the packer must do for these goods (policy packing rules by product trait).
    instructions: tuple[str, ...]
    printed_at: datetime
    remark: str | None = None


@dataclass(frozen=True)
class LabelDoc:
    """A 100 × 150 mm shipping label."""

    shipment: str
    order: str
    carrier: str
    carrier_name: str
    tracking_number: str
    service_type: str
    sender: Party
    recipient: Party
    parcels: int
    chargeable_weight_kg: Decimal | None
    printed_at: datetime

    @property
    def qr_payload(self) -> str:
        """The QR code: tracking number and shipment number, ``;``-separated (neither contains one)."""
        return f"{self.tracking_number};{self.shipment}"


@dataclass(frozen=True)
class ConfirmationLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ExpectedTime:
    """One expected time of the confirmation: a step, its deadline, and when it was done if it was."""

    step: str
    label: str
    due: datetime | None
    done_at: datetime | None = None


@dataclass(frozen=True)
class OrderConfirmationDoc:
    """The customer order confirmation of policy 002 (客户订单确认单): order number, customer,
    goods, service, charges and expected times, plus how to follow the order."""

    number: str
    issued_at: datetime
    placed_at: datetime
    shop: str
    customer: Party
    email: str | None
    lines: tuple[ConfirmationLine, ...]
    service_type: str
    order_class: str
    payment_method: str
    payment_status: str
    currency: str
    goods_total: Decimal
    shipping_fee: Decimal
    discounts: Decimal
    total: Decimal
    amount_paid: Decimal
    expected: tuple[ExpectedTime, ...]
    query_hint: str
    timezone: str
    remark: str | None = None
