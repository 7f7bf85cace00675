"""What the API takes and returns for customers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ordo.kernel.checks import In


class CustomerFields(In):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="Stored in E.164; local numbers: home country")
    email: str | None = Field(default=None, max_length=254)
    account: str | None = Field(default=None, max_length=128, description="Buyer account on a channel")
    vip_level: int | None = Field(default=None, description="0 (none) to 9")


class CustomerCreate(CustomerFields):
    """A phone number or an e-mail address is required."""


class CustomerUpdate(CustomerFields):
    """Only the fields sent change; ``null`` clears phone, e-mail or account."""


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    phone: str | None
    email: str | None
    account: str | None
    vip_level: int
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerRead]
    next_cursor: str | None
