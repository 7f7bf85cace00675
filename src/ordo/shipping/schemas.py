"""HTTP shapes of shipping: one schema per use."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from ordo.kernel.checks import In
from ordo.shipping.tracking import TrackingKind


class ParcelIn(In):
    weight_g: int = Field(ge=1, le=10_000_000)
    length_mm: int = Field(ge=1, le=100_000)
    width_mm: int = Field(ge=1, le=100_000)
    height_mm: int = Field(ge=1, le=100_000)


class PackIn(In):
    confirmed: list[str] = Field(default_factory=list, max_length=50,
                                 description="The packing instructions the packer has carried out")
    parcels: list[ParcelIn] = Field(default_factory=list, max_length=100)
    temperature_logger_id: str | None = Field(default=None, max_length=64,
                                              description="Required for perishable goods")


class CarrierIn(In):
    carrier: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=300)


class InterceptIn(In):
    reason: str = Field(min_length=1, max_length=300, description="Why the parcel is stopped (recorded)")


class TrackingIn(In):
    kind: TrackingKind
    at: AwareDatetime | None = Field(default=None, description="When the carrier scanned it (default: when received)")
    location: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)


class FollowupDoneIn(In):
    note: str | None = Field(default=None, max_length=1000)


class PackingRead(BaseModel):
    shipment: str
    status: str
    instructions: list[str]
    temperature_logger_required: bool


class ParcelRead(BaseModel):
    seq: int
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    volumetric_weight_g: int | None
    chargeable_weight_g: int | None


class TrackingEventRead(BaseModel):
    kind: str
    at: datetime
    location: str | None
    note: str | None
    source: str
    adjusted: str | None = Field(description="Why its step took another time than the scan's: future, out_of_order")


class ShippingRead(BaseModel):
    shipment: str
    order: str
    status: str
    carrier: str | None
    carrier_rule: str | None
    carrier_reason: str | None
    carrier_overridden: bool
    service: str | None = Field(description="The carrier's service booked at hand-over")
    tracking_number: str | None
    temperature_logger_id: str | None
    confirmed: list[str]
    parcels: list[ParcelRead]
    chargeable_weight_g: int
    last_movement_at: datetime | None
    stalled: bool
    events: list[TrackingEventRead]


class InterceptRead(BaseModel):
    shipment: str
    order: str
    status: str
    carrier: str | None
    tracking_number: str | None
    carrier_confirmed: bool = Field(description="False: the carrier could not confirm; call it to stop the parcel")
    order_status: str
    shipping_progress: str


class TrackingResult(BaseModel):
    stored: int
    duplicates: int


class FollowupRead(BaseModel):
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
