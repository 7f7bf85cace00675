"""Shipping persistence: parcels, the shipment's packing / carrier / tracking record, tracking
events and follow-up tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


class Parcel(Base):
    """One physical box of a shipment. Volumetric and chargeable weight follow the divisor of the
    carrier chosen for the shipment (recomputed when the carrier changes)."""

    __tablename__ = "parcels"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    seq: Mapped[int]
    weight_g: Mapped[int]
    length_mm: Mapped[int]
    width_mm: Mapped[int]
    height_mm: Mapped[int]
    divisor: Mapped[int | None]
    volumetric_weight_g: Mapped[int | None]
    chargeable_weight_g: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("shipment_id", "seq"),)


class ShippingRecord(Base):
    """What packing, carrier choice, booking and tracking know about one shipment (one row per
    shipment, created when the packer first records the packing)."""

    __tablename__ = "shipment_shipping"
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    confirmed: Mapped[list[str]] = mapped_column(JSON, default=list)
    temperature_logger_id: Mapped[str | None] = mapped_column(String(64))
    carrier_rule: Mapped[str | None] = mapped_column(String(64))
    carrier_reason: Mapped[str | None] = mapped_column(String(300))
    carrier_overridden: Mapped[bool] = mapped_column(default=False)
    # The booking in force: made at hand-over, replaced at ship only where it stood in (a made-up
    # number, a stand-in carrier) or by an override with a reason (``steps.keep_booking``).
    booked_carrier: Mapped[str | None] = mapped_column(String(64))
    booked_service: Mapped[str | None] = mapped_column(String(64))
    # The tracking number was made up by a manual carrier (none typed): the real one may replace it.
    booked_placeholder: Mapped[bool] = mapped_column(default=False)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest carrier scan (or the ship step): shown, and a scan no later than it is no
    # movement. Whether the parcel is stalled is its no-movement clock's (``shipping.stalls``).
    last_movement_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrackingEvent(Base):
    """One carrier event as received (``at``: the scan's own time, else its receipt's); the same
    (shipment, kind, time) is stored once. ``adjusted``: why its step was recorded at another time
    (``tracking.Adjusted``: future, out_of_order)."""

    __tablename__ = "tracking_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(16))  # api | csv | carrier
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    adjusted: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("shipment_id", "kind", "at"),)


class FollowupTask(Base):
    """Work for customer service that a shipping event opened (a refused delivery → call the customer)."""

    __tablename__ = "followup_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        Index("ix_followup_tasks_status_due", "status", "due_at"),
        UniqueConstraint("kind", "shipment_id"),
    )
