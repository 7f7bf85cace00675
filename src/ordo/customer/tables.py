from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


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
