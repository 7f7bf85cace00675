"""Wave planning and scan verification (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordo.fulfillment.verification import ScanRefusal, ScanResult, ScanSheet
from ordo.fulfillment.waves import PickListPlan, WaveCandidate, plan_waves

T = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
RANK = {"fresh": 0, "urgent": 1, "promotion": 2, "normal": 3, "cross_border": 3}


def cand(shipment, *, warehouse="WH-SH", cls="normal", vip=0, cutoff=None, items=2, minutes=0):
    return WaveCandidate(shipment, warehouse, cls, vip, "zto", cutoff, items, T + timedelta(minutes=minutes))


def test_fresh_and_urgent_first_then_cutoff_then_vip_then_age_within_the_size_limit():
    plans = plan_waves(
        [
            cand("N-old", minutes=0),
            cand("N-vip", vip=3, minutes=5),
            cand("U", cls="urgent", minutes=9),
            cand("F", cls="fresh", minutes=10),
            cand("N-cutoff", cutoff=T + timedelta(hours=1), minutes=20),
            cand("BJ-1", warehouse="WH-BJ"),
        ],
        max_items=4,
        class_rank=RANK,
    )
    assert plans == [
        PickListPlan("WH-BJ", ("BJ-1",), 2),
        PickListPlan("WH-SH", ("F", "U"), 4),
        PickListPlan("WH-SH", ("N-cutoff", "N-vip"), 4),
        PickListPlan("WH-SH", ("N-old",), 2),
    ]


def test_a_shipment_over_the_limit_gets_a_list_of_its_own():
    plans = plan_waves([cand("big", items=9), cand("small", items=1, minutes=1)], max_items=4, class_rank=RANK)
    assert plans == [PickListPlan("WH-SH", ("big",), 9), PickListPlan("WH-SH", ("small",), 1)]


BARCODES = {"6900000000011": "TEA-001", "6900000000028": "MUG-002", "6900000000035": "OIL-004"}


def test_scans_accept_the_right_items_and_refuse_the_rest():
    sheet = ScanSheet(expected={"TEA-001": 2, "MUG-002": 1})
    assert sheet.scan("6900000000011", 1, BARCODES) == ScanResult(True, "TEA-001")
    assert sheet.scan("6900000000035", 1, BARCODES) == ScanResult(
        False, "OIL-004", ScanRefusal.WRONG_SKU, {"sku": "OIL-004"}
    )
    assert sheet.scan("123", 1, BARCODES) == ScanResult(False, None, ScanRefusal.UNKNOWN_BARCODE, {"barcode": "123"})
    assert sheet.scan("6900000000011", 2, BARCODES) == ScanResult(
        False, "TEA-001", ScanRefusal.TOO_MANY, {"sku": "TEA-001", "expected": 2, "scanned": 1, "quantity": 2}
    )
    assert sheet.scan("6900000000011", 0, BARCODES).refusal == ScanRefusal.NOT_POSITIVE
    assert sheet.missing() == {"MUG-002": 1, "TEA-001": 1}
    sheet.scan("6900000000011", 1, BARCODES)
    sheet.scan("6900000000028", 1, BARCODES)
    assert sheet.missing() == {}
    assert sheet.scanned == {"TEA-001": 2, "MUG-002": 1}
