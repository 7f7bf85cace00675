from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # domestic | overseas
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(64))
    # Destination countries this warehouse ships to; empty means its own country only.
    serves: Mapped[list[str]] = mapped_column(JSON, default=list)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)


class Stock(Base):
    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    bin: Mapped[str | None] = mapped_column(String(32))


class StockMovement(Base):
    """The stock ledger: every change of on-hand or reserved, append-only."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_wh_sku", "warehouse_id", "sku_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    kind: Mapped[str] = mapped_column(String(16))
    delta_on_hand: Mapped[int] = mapped_column(default=0)
    delta_reserved: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_open", "warehouse_id", "sku_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | released | consumed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReorderAlert(Base):
    """A SKU's available stock fell below its reorder point (in one warehouse, or in total when
    ``warehouse_id`` is empty); open until the stock is back at or above the point."""

    __tablename__ = "reorder_alerts"
    __table_args__ = (
        Index("ix_reorder_alerts_open", "sku_id", "cleared_at"),
        # At most one open alert per SKU (total) and per SKU and warehouse: two concurrent crossings
        # cannot raise it twice.
        Index("uq_reorder_alerts_open_total", "sku_id", unique=True,
              postgresql_where=text("cleared_at IS NULL AND warehouse_id IS NULL"),
              sqlite_where=text("cleared_at IS NULL AND warehouse_id IS NULL")),
        Index("uq_reorder_alerts_open_warehouse", "sku_id", "warehouse_id", unique=True,
              postgresql_where=text("cleared_at IS NULL AND warehouse_id IS NOT NULL"),
              sqlite_where=text("cleared_at IS NULL AND warehouse_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    available: Mapped[int]
    reorder_point: Mapped[int]
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
