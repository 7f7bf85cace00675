"""What the API takes and returns for shops."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ordo.kernel.checks import In


class ShopFields(In):
    name: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(
        default=None, max_length=32, description="web, app, mini_program, marketplace, offline, email, api"
    )
    active: bool | None = None


class ShopCreate(ShopFields):
    code: str | None = Field(default=None, max_length=64)


class ShopUpdate(ShopFields):
    """Only the fields sent change."""


class ShopRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    channel: str
    active: bool
    created_at: datetime


class ShopPage(BaseModel):
    items: list[ShopRead]
    next_cursor: str | None
