"""The order as submitted by a channel, and as accepted after validation.

``OrderSubmission`` is deliberately lenient (almost every field optional) so that the pure
validator in ``rules.py`` can report every missing or wrong field in one answer instead of
stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from ordo.kernel.checks import In

Text = str | None


_In = In


class CustomerIn(_In):
    name: Text = Field(default=None, max_length=200)
    phone: Text = Field(default=None, max_length=40)
    email: Text = Field(default=None, max_length=254)
    account: Text = Field(default=None, max_length=128, description="Buyer account on the channel")


class AddressIn(_In):
    country: Text = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2, e.g. CN")
    province: Text = Field(default=None, max_length=100, description="Province or state")
    city: Text = Field(default=None, max_length=100)
    district: Text = Field(default=None, max_length=100)
    street: Text = Field(default=None, max_length=300, description="Street and house number")
    postcode: Text = Field(default=None, max_length=20)


class LineIn(_In):
    sku: Text = Field(default=None, max_length=64)
    quantity: int | None = None
    unit_price: Decimal | None = Field(default=None, max_digits=18)


class PaymentIn(_In):
    method: Text = Field(default=None, max_length=32)
    status: str = Field(default="unpaid", max_length=32, description="unpaid or paid")
    amount_paid: Decimal = Field(default=Decimal("0"), max_digits=18)


class OrderSubmission(_In):
    shop: Text = Field(default=None, max_length=64, description="Code of the shop (sales channel)")
    channel: Text = Field(default=None, max_length=32, description="Optional; must match the shop's")
    external_id: Text = Field(default=None, max_length=128, description="Order id on the channel")
    customer: CustomerIn | None = None
    address: AddressIn | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=1000)
    shipping_fee: Decimal = Field(default=Decimal("0"), max_digits=18)
    discounts: Decimal = Field(default=Decimal("0"), max_digits=18)
    total: Decimal | None = Field(default=None, max_digits=18)
    currency: Text = Field(default=None, max_length=3)
    payment: PaymentIn | None = None
    service_type: Text = Field(default=None, max_length=32)
    order_class: str = Field(default="normal", max_length=32)
    remark: Text = Field(default=None, max_length=1000)
    placed_at: datetime | None = None


@dataclass(frozen=True)
class DraftLine:
    line_no: int
    sku_id: int
    sku_code: str
    name: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class OrderDraft:
    """An order that passed every intake rule, with normalised values."""

    shop_id: int
    shop_code: str
    channel: str
    external_id: str
    customer_name: str
    phone: str | None
    email: str | None
    account: str | None
    country: str
    province: str | None
    city: str
    district: str | None
    street: str
    postcode: str | None
    remote_area: bool
    lines: tuple[DraftLine, ...]
    currency: str
    goods_total: Decimal
    shipping_fee: Decimal
    discounts: Decimal
    total: Decimal
    payment_method: str
    payment_status: str
    amount_paid: Decimal
    service_type: str
    order_class: str
    remark: str | None
    placed_at: datetime | None

    def fingerprint(self) -> dict[str, Any]:
        """Canonical content used for idempotency: same fingerprint, same order."""
        # Field by field (``dataclasses.asdict`` deep-copies every value: 5 % of an intake's calls).
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "shop_id"}
        data["lines"] = [
            {f.name: str(v) if isinstance(v := getattr(line, f.name), Decimal) else v
             for f in fields(line) if f.name != "sku_id"}
            for line in self.lines
        ]
        for key, value in list(data.items()):
            if isinstance(value, Decimal):
                data[key] = str(value)
            elif isinstance(value, datetime):
                # The same instant written in another offset is the same order.
                data[key] = (value.astimezone(UTC) if value.tzinfo else value).isoformat()
        return data


def by_number(numbers: Iterable[str]) -> list[str]:
    """Order numbers in the order they were handed out: business date (the first 8 digits), then
    serial. As text they are not: the serial is zero-padded to three digits and grows wider after
    999, so ``202612011000`` would come before ``20261201999``."""
    return sorted(numbers, key=lambda number: (number[:8], len(number), number))
