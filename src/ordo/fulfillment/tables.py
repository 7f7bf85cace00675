from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordo.adapters.db.base import Base, UTCDateTime


class Shipment(Base):
    """What one warehouse sends for one order (an order split over warehouses has several)."""

    __tablename__ = "shipments"
    # A tracking number identifies one parcel (NULLs, not booked yet, are many).
    __table_args__ = (Index("uq_shipments_tracking_number", "tracking_number", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", order_by="ShipmentLine.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    # Indexed: the foreign key's check when order lines are deleted (retention) reads by it.
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]

    shipment: Mapped[Shipment] = relationship(back_populates="lines")


class WarehouseLayout(Base):
    """The floor of one warehouse: aisles, cross aisles, slots and the depot (``fulfillment.layout``)."""

    __tablename__ = "warehouse_layouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), unique=True)
    aisles: Mapped[int]
    aisle_length_m: Mapped[float] = mapped_column(Float)
    aisle_spacing_m: Mapped[float] = mapped_column(Float)
    slot_length_m: Mapped[float] = mapped_column(Float)
    middle_cross_aisles_m: Mapped[list[float]] = mapped_column(JSON, default=list)
    depot_aisle: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PickList(Base):
    """One picker's walk: the stops of some shipments of one warehouse, in route order."""

    __tablename__ = "pick_lists"
    __table_args__ = (Index("ix_pick_lists_warehouse_status", "warehouse_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | claimed | done
    items: Mapped[int]
    route_length_m: Mapped[float] = mapped_column(Float)
    route_method: Mapped[str] = mapped_column(String(24))
    picker: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PickListShipment(Base):
    """A shipment is on at most one pick list (the unique key settles two releases racing)."""

    __tablename__ = "pick_list_shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)


class PickListStop(Base):
    __tablename__ = "pick_list_stops"
    __table_args__ = (UniqueConstraint("pick_list_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"))
    seq: Mapped[int]
    bin: Mapped[str] = mapped_column(String(32))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)


class ShipmentScan(Base):
    """Every scan of a shipment's goods, accepted or refused (with the reason), append-only."""

    __tablename__ = "shipment_scans"
    __table_args__ = (Index("ix_shipment_scans_shipment_stage", "shipment_id", "stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    stage: Mapped[str] = mapped_column(String(8))  # pick | check
    barcode: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]
    accepted: Mapped[bool]
    refusal: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
