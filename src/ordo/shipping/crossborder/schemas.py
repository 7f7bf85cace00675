"""What the legs API takes and returns."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from ordo.kernel.checks import In


class DeclarationLineIn(In):
    """Overrides for one shipment line of the export declaration (default: the SKU's data)."""

    hs_code: str | None = Field(default=None, max_length=16, description="6 to 10 digits")
    declared_value: Decimal | None = Field(default=None, max_digits=18, description="Customs value per unit, > 0")
    currency: str | None = Field(default=None, max_length=3)
    origin_country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")


class LegActionIn(In):
    action: str = Field(max_length=32, description="book | declare | depart | arrive | clear | hold | hand_over")
    reference: str | None = Field(
        default=None, max_length=128,
        description="Booking number (book), declaration number (declare), vessel or flight (depart), "
                    "clearance reference (clear)",
    )
    carrier: str | None = Field(default=None, max_length=64, description="Forwarder (book), local carrier (hand_over)")
    requested_date: date | None = Field(default=None, description="For book: the date asked of the forwarder")
    departed_at: datetime | None = Field(default=None, description="For depart (default: now)")
    arrived_at: datetime | None = Field(default=None, description="For arrive (default: now)")
    tracking_number: str | None = Field(default=None, max_length=64, description="For hand_over")
    reason: str | None = Field(default=None, max_length=1000, description="For hold: why customs holds the goods")
    note: str | None = Field(default=None, max_length=1000)
    lines: list[DeclarationLineIn | None] = Field(
        default_factory=list, max_length=1000,
        description="For declare: overrides per shipment line, in the order of the shipment's lines",
    )


class LegRead(BaseModel):
    leg: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    reference: str | None
    data: dict[str, Any]
    actor: str | None
    actions: list[str]


class DeclarationLineRead(BaseModel):
    """What the declaration will say for a shipment line unless the body overrides it."""

    index: int
    sku: str
    quantity: int
    hs_code: str | None
    declared_value: Decimal | None
    currency: str | None
    origin_country: str | None


class ShipmentLegsRead(BaseModel):
    shipment: str
    order: str
    service_type: str
    status: str
    next_leg: str | None
    legs: list[LegRead]
    declaration_lines: list[DeclarationLineRead]
