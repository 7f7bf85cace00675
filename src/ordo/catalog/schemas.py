"""What the API takes and returns for SKUs."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from ordo.kernel.checks import In


class SkuFields(In):
    barcode: str | None = Field(default=None, max_length=64, description="EAN/UPC; unique")
    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64)
    weight_g: int | None = Field(default=None, description="Gross weight in grams (default 0)")
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    price: Decimal | None = Field(default=None, max_digits=18, description="Decimal string, e.g. \"25.00\"")
    currency: str | None = Field(default=None, max_length=3, description="ISO 4217 (default CNY)")
    traits: list[str] | None = Field(
        default=None, max_length=10,
        description="fragile, liquid, perishable, electronics, bulky, prohibited",
    )
    hs_code: str | None = Field(default=None, max_length=16, description="Customs tariff code, 6 to 10 digits")
    declared_value: Decimal | None = Field(default=None, max_digits=18, description="Customs value per unit")
    origin_country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")
    active: bool | None = None


class SkuCreate(SkuFields):
    code: str | None = Field(default=None, max_length=64)


class SkuUpdate(SkuFields):
    """Only the fields sent change; ``null`` clears an optional field."""


class SkuRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    barcode: str | None
    name: str
    category: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    price: Decimal
    currency: str
    traits: list[str]
    hs_code: str | None
    declared_value: Decimal | None
    origin_country: str | None
    active: bool


class SkuPage(BaseModel):
    items: list[SkuRead]
    next_cursor: str | None
