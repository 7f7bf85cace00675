from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RETURN = "return"  # goods a customer sent back, put on the shelf again


class ReservationStatus(StrEnum):
    OPEN = "open"
    RELEASED = "released"
    CONSUMED = "consumed"


@dataclass(frozen=True)
class WarehouseView:
    id: int
    code: str
    kind: str
    country: str
    serves: frozenset[str]
    capabilities: frozenset[str]
    priority: int
    region: str = ""
