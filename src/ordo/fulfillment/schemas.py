"""What the API takes and returns for warehouse layouts, pick lists and scans."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ordo.kernel.checks import In


class LayoutIn(In):
    aisles: int | None = Field(default=None, description="Parallel aisles, numbered from 1 (at most 99)")
    aisle_length_m: float | None = Field(default=None, description="Length of each aisle, front to back")
    aisle_spacing_m: float | None = Field(default=None, description="Distance between neighbouring aisles")
    slot_length_m: float | None = Field(default=None, description="Length of one bin slot along the aisle")
    middle_cross_aisles_m: list[float] | None = Field(
        default=None, description="Middle cross aisles, metres from the front; front and back always exist"
    )
    depot_aisle: int | None = Field(default=None, description="The depot is at the front end of this aisle (default 1)")


class LayoutRead(BaseModel):
    warehouse: str
    default: bool = Field(description="True: the warehouse has no layout of its own; the policy's is shown")
    aisles: int
    aisle_length_m: float
    aisle_spacing_m: float
    slot_length_m: float
    middle_cross_aisles_m: list[float]
    depot_aisle: int
    slots_per_side: int
    single_block: bool


class PickReleaseIn(In):
    warehouse: str | None = Field(default=None, max_length=64, description="Warehouse code")


class PickStopRead(BaseModel):
    seq: int
    bin: str
    sku: str
    sku_name: str
    quantity: int
    shipment: str


class PickListSummary(BaseModel):
    number: str
    warehouse: str
    status: str
    picker: str | None
    items: int
    route_length_m: float
    route_method: str = Field(description="optimal (single block) or improved_heuristic (several blocks)")
    shipments: list[str]
    created_at: datetime
    claimed_at: datetime | None


class PickListRead(PickListSummary):
    stops: list[PickStopRead] = Field(description="In route order, from the depot and back")


class PickListPage(BaseModel):
    items: list[PickListSummary]


class ScanStage(StrEnum):
    PICK = "pick"
    CHECK = "check"


class ScanIn(In):
    barcode: str | None = Field(default=None, max_length=64,
                                description="The SKU's barcode (or its code if it has none)")
    quantity: int | None = Field(default=1, description="Units scanned at once (default 1)")
    stage: ScanStage | None = Field(default=None, description="pick or check")


class ScanRead(BaseModel):
    id: int
    stage: str
    barcode: str
    sku: str | None
    quantity: int
    accepted: bool
    refusal: str | None
    actor: str
    at: datetime


class StageProgress(BaseModel):
    expected: dict[str, int]
    scanned: dict[str, int]
    missing: dict[str, int]
    by: list[str] = Field(description="Who scanned at this stage (accepted scans)")


class ScanSummary(BaseModel):
    shipment: str
    status: str
    pick: StageProgress
    check: StageProgress
    scans: list[ScanRead]
