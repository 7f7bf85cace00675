from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Amount, Base, UTCDateTime


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # One customer per phone and per e-mail (NULLs don't collide), so that concurrent first orders
    # from one person meet on the unique key instead of creating two customers.
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    account: Mapped[str | None] = mapped_column(String(128), index=True)
    vip_level: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Coupon(Base):
    """A coupon issued to a customer, e.g. the apology coupon when an unpaid order is closed because
    paid orders took the scarce stock (POLICIES.md: 5 yuan by default)."""

    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
