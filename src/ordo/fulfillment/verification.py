"""Scan verification: each scan names a barcode and a quantity; a wrong SKU, too many, or a
missing item is refused with a reason, and the shipment cannot go on until it adds up. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ScanRefusal(StrEnum):
    UNKNOWN_BARCODE = "scan_unknown_barcode"
    WRONG_SKU = "scan_wrong_sku"
    TOO_MANY = "scan_too_many"
    NOT_POSITIVE = "scan_not_positive"


@dataclass(frozen=True)
class ScanResult:
    accepted: bool
    sku: str | None
    refusal: ScanRefusal | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass
class ScanSheet:
    """What a shipment must contain and what has been scanned so far."""

    expected: Mapping[str, int]
    scanned: dict[str, int] = field(default_factory=dict)

    def scan(self, barcode: str, quantity: int, barcodes: Mapping[str, str]) -> ScanResult:
        if quantity <= 0:
            return ScanResult(False, None, ScanRefusal.NOT_POSITIVE, {"quantity": quantity})
        sku = barcodes.get(barcode)
        if sku is None:
            return ScanResult(False, None, ScanRefusal.UNKNOWN_BARCODE, {"barcode": barcode})
        if sku not in self.expected:
            return ScanResult(False, sku, ScanRefusal.WRONG_SKU, {"sku": sku})
        already = self.scanned.get(sku, 0)
        if already + quantity > self.expected[sku]:
            return ScanResult(
                False,
                sku,
                ScanRefusal.TOO_MANY,
                {"sku": sku, "expected": self.expected[sku], "scanned": already, "quantity": quantity},
            )
        self.scanned[sku] = already + quantity
        return ScanResult(True, sku)

    def missing(self) -> dict[str, int]:
        """SKU → units still to scan; empty when the shipment is complete."""
        return {
            sku: want - self.scanned.get(sku, 0)
            for sku, want in sorted(self.expected.items())
            if self.scanned.get(sku, 0) < want
        }
