"""Carriers behind one Protocol: book a shipment, fetch its label, read its tracking, cancel or
intercept it. Ordo ships a "manual" carrier (numbers typed or generated, for carriers without an
integration) and a fake for tests; real integrations implement the same Protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class BookingRequest:
    shipment: str  # Ordo's shipment number, also the idempotency key at the carrier
    service_type: str
    weight_g: int
    parcels: int
    destination_country: str
    destination_postcode: str | None


@dataclass(frozen=True)
class Booking:
    carrier: str
    tracking_number: str
    service: str | None = None  # the carrier's service booked; None: the request's service type
    placeholder: bool = False  # a number made up for a carrier without an integration (none typed)


@dataclass(frozen=True)
class CarrierEvent:
    tracking_number: str
    kind: str  # see ordo.shipping.tracking.TrackingKind
    at: datetime
    location: str | None = None
    note: str | None = None


class CarrierError(Exception):
    """The carrier refused or could not be reached; the message says which."""


class CarrierAdapter(Protocol):
    code: str

    def book(self, request: BookingRequest) -> Booking: ...

    def tracking(self, tracking_number: str) -> list[CarrierEvent]: ...

    def label(self, tracking_number: str) -> bytes | None:
        """The carrier's own label for a booked parcel (a PDF), or None when the carrier has none
        and Ordo prints its 100 × 150 mm label itself."""
        ...

    def cancel(self, tracking_number: str) -> bool:
        """Ask the carrier to cancel or intercept the parcel: True when it confirms, False when it
        cannot say (staff call the carrier); CarrierError when it refuses or cannot be reached."""
        ...


class ManualCarrier:
    """A carrier without an integration: the tracking number is typed by staff, or generated from
    the shipment number; tracking arrives by CSV import or the API."""

    def __init__(self, code: str = "manual", prefix: str = "MAN") -> None:
        self.code, self.prefix = code, prefix

    def book(self, request: BookingRequest, tracking_number: str | None = None) -> Booking:
        if tracking_number:
            return Booking(carrier=self.code, tracking_number=tracking_number)
        return Booking(carrier=self.code, tracking_number=f"{self.prefix}{request.shipment.replace('-', '')}",
                       placeholder=True)

    def tracking(self, tracking_number: str) -> list[CarrierEvent]:
        return []

    def label(self, tracking_number: str) -> bytes | None:
        return None  # Ordo prints the label

    def cancel(self, tracking_number: str) -> bool:
        return False  # nobody to ask: staff call the carrier and record the outcome


@dataclass
class FakeCarrier:
    """For tests: books with predictable numbers, replays scripted events, can be told to fail
    (every call raises CarrierError) or to leave an interception unconfirmed (``confirms=False``)."""

    code: str = "fake"
    fail_with: str | None = None
    confirms: bool = True
    events: dict[str, list[CarrierEvent]] = field(default_factory=dict)
    labels: dict[str, bytes] = field(default_factory=dict)  # tracking number → the carrier's label
    booked: list[BookingRequest] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def book(self, request: BookingRequest) -> Booking:
        if self.fail_with:
            raise CarrierError(self.fail_with)
        for earlier, previous in enumerate(self.booked):
            if previous.shipment == request.shipment:  # idempotent on the shipment number
                return Booking(self.code, f"FAKE{earlier + 1:06d}")
        self.booked.append(request)
        return Booking(self.code, f"FAKE{len(self.booked):06d}")

    def tracking(self, tracking_number: str) -> list[CarrierEvent]:
        if self.fail_with:
            raise CarrierError(self.fail_with)
        return list(self.events.get(tracking_number, []))

    def label(self, tracking_number: str) -> bytes | None:
        if self.fail_with:
            raise CarrierError(self.fail_with)
        return self.labels.get(tracking_number)

    def cancel(self, tracking_number: str) -> bool:
        if self.fail_with:
            raise CarrierError(self.fail_with)
        self.cancelled.append(tracking_number)
        return self.confirms
