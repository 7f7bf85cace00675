from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordo.adapters.db.base import Amount, Base, UTCDateTime


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "external_id"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_created", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    # The buyer's account on the channel, when the channel sends one (risk rules key on it).
    account: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    vip_level: Mapped[int] = mapped_column(default=0)
    country: Mapped[str] = mapped_column(String(2))
    province: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(20))
    remote_area: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str] = mapped_column(String(3))
    goods_total: Mapped[Decimal] = mapped_column(Amount)
    shipping_fee: Mapped[Decimal] = mapped_column(Amount)
    discounts: Mapped[Decimal] = mapped_column(Amount)
    total: Mapped[Decimal] = mapped_column(Amount)
    payment_method: Mapped[str] = mapped_column(String(32))
    payment_status: Mapped[str] = mapped_column(String(32))
    amount_paid: Mapped[Decimal] = mapped_column(Amount)
    service_type: Mapped[str] = mapped_column(String(32))
    order_class: Mapped[str] = mapped_column(String(32))
    remark: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(32))
    status_before_hold: Mapped[str | None] = mapped_column(String(32))
    payload_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no", cascade="all, delete-orphan"
    )
    holds: Mapped[list[OrderHold]] = relationship(
        back_populates="order", order_by="OrderHold.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class OrderLine(Base):
    __tablename__ = "order_lines"
    # By order: an order's lines are read with it (without this index, a scan of every line).
    __table_args__ = (
        Index("ix_order_lines_sku", "sku_id", "order_id"),
        Index("ix_order_lines_order", "order_id", "line_no"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int]
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    sku_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    amount: Mapped[Decimal] = mapped_column(Amount)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderHold(Base):
    __tablename__ = "order_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(1000))
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="holds")


class OrderNumberCounter(Base):
    """Last serial handed out per business date; the row lock makes numbers unique."""

    __tablename__ = "order_number_counters"
    business_date: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_serial: Mapped[int] = mapped_column(default=0)


class BackorderWakeup(Base):
    """Goods that may serve waiting orders now (a receipt, released reservations, an order that
    stopped waiting), written in that command's transaction and deleted by the transaction that
    served their queue (``order.backorders.serve_woken``): right after the commit, or by the
    worker's next round if that did not happen."""

    __tablename__ = "backorder_wakeups"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
