"""What the API takes and returns for warehouses and stock."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordo.kernel.checks import In


class WarehouseFields(In):
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=16, description="domestic or overseas")
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2 of its location")
    region: str | None = Field(default=None, max_length=64, description="Province, state or area")
    serves: list[str] | None = Field(
        default=None, max_length=300, description="Destination countries it ships to; empty: its own country"
    )
    capabilities: list[str] | None = Field(default=None, max_length=20, description="e.g. cold_chain")
    priority: int | None = Field(default=None, description="Lower is preferred (default 100)")
    active: bool | None = None


class WarehouseCreate(WarehouseFields):
    code: str | None = Field(default=None, max_length=64)


class WarehouseUpdate(WarehouseFields):
    """Only the fields sent change."""


class WarehouseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    country: str
    region: str
    serves: list[str]
    capabilities: list[str]
    priority: int
    active: bool


class WarehousePage(BaseModel):
    items: list[WarehouseRead]
    next_cursor: str | None


class StockReceiptIn(In):
    warehouse: str | None = Field(default=None, max_length=64, description="Warehouse code")
    sku: str | None = Field(default=None, max_length=64, description="SKU code")
    quantity: int | None = Field(default=None, description="Units received, at least 1")
    reason: str | None = Field(default=None, max_length=500, description="e.g. purchase order, return to stock")
    reference: str | None = Field(default=None, max_length=64, description="e.g. the purchase order number")
    kind: Literal["receipt", "return"] = Field(default="receipt",
                                               description="A purchase receipt, or a return to stock")


class StockAdjustmentIn(In):
    warehouse: str | None = Field(default=None, max_length=64, description="Warehouse code")
    sku: str | None = Field(default=None, max_length=64, description="SKU code")
    delta: int | None = Field(default=None, description="Units to add (positive) or take away (negative)")
    reason: str | None = Field(default=None, max_length=500, description="Why: stock count, damage, …")
    reference: str | None = Field(default=None, max_length=64)


class StockTransferIn(In):
    sku: str | None = Field(default=None, max_length=64, description="SKU code")
    from_warehouse: str | None = Field(default=None, max_length=64)
    to_warehouse: str | None = Field(default=None, max_length=64)
    quantity: int | None = Field(default=None, description="Units to move, at least 1")
    reason: str | None = Field(default=None, max_length=500)
    reference: str | None = Field(default=None, max_length=64)


class StockLevel(BaseModel):
    warehouse: str
    sku: str
    on_hand: int
    reserved: int
    available: int
    bin: str | None = Field(default=None, description="Bin location in the warehouse, if set")


class StockBinIn(In):
    warehouse: str | None = Field(default=None, max_length=64, description="Warehouse code")
    sku: str | None = Field(default=None, max_length=64, description="SKU code")
    bin: str | None = Field(default=None, max_length=32,
                            description="Bin address A<aisle>-<slot>-<L|R>, e.g. A03-015-L, within the "
                                        "warehouse layout; empty clears it")


class StockTransferOut(BaseModel):
    source: StockLevel
    destination: StockLevel


class StockList(BaseModel):
    items: list[StockLevel]


class LedgerRead(BaseModel):
    at: datetime
    warehouse: str
    sku: str
    kind: str
    on_hand: int = Field(description="Change of on hand")
    reserved: int = Field(description="Change of reserved")
    reference: str | None
    reason: str | None
    actor: str


class Availability(BaseModel):
    sku: str
    channel: str
    on_hand: int
    reserved: int
    backordered: int = Field(description="Units waiting orders still need")
    safety_stock: int
    available_to_promise: int = Field(description="What this channel may sell: never below 0")


class ReorderAlertRead(BaseModel):
    sku: str
    warehouse: str | None = Field(description="None: the total over all warehouses")
    available: int
    reorder_point: int
    raised_at: datetime
    cleared_at: datetime | None
