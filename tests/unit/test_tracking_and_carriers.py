"""Tracking events, CSV import and the carrier adapters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordo.adapters.carriers.base import Booking, BookingRequest, CarrierError, FakeCarrier, ManualCarrier
from ordo.fulfillment.states import ShipmentTrigger
from ordo.kernel.errors import IllegalTransition, ValidationFailed
from ordo.kernel.i18n import translate
from ordo.shipping.tracking import (
    Adjusted,
    StepTime,
    TrackingKind,
    TrackingRow,
    parse_csv,
    states_after,
    step_time,
    trigger_for,
)


def test_event_kinds_map_to_shipment_triggers_through_the_table():
    assert trigger_for(TrackingKind.IN_TRANSIT, "in_transit") is None
    assert trigger_for(TrackingKind.DELIVERED, "out_for_delivery") == ShipmentTrigger.DELIVER
    assert trigger_for(TrackingKind.EXPORT_DECLARED, "in_transit") == ShipmentTrigger.DECLARE_EXPORT
    assert trigger_for(TrackingKind.CUSTOMS_CLEARED, "in_customs") == ShipmentTrigger.CLEAR_CUSTOMS
    assert trigger_for(TrackingKind.REFUSED, "out_for_delivery") == ShipmentTrigger.REFUSE
    with pytest.raises(IllegalTransition) as illegal:
        trigger_for(TrackingKind.DELIVERED, "packed")
    assert illegal.value.allowed == ["cancel", "hand_over"]


RECEIVED = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("scanned", "last_step", "expected"),
    [
        (RECEIVED - 90 * MIN, RECEIVED - 120 * MIN, StepTime(RECEIVED - 90 * MIN)),  # the scan's own time
        (None, RECEIVED - 120 * MIN, StepTime(RECEIVED)),  # a scan without a time: its receipt's
        (RECEIVED + 15 * MIN, None, StepTime(RECEIVED)),  # a little ahead: cut back, not marked
        (RECEIVED + 16 * MIN, None, StepTime(RECEIVED, Adjusted.FUTURE)),
        (RECEIVED - 90 * MIN, RECEIVED - 60 * MIN, StepTime(RECEIVED - 60 * MIN, Adjusted.OUT_OF_ORDER)),
        (RECEIVED - 60 * MIN, RECEIVED - 60 * MIN, StepTime(RECEIVED - 60 * MIN)),  # the same time is in order
        (RECEIVED + 60 * MIN, RECEIVED, StepTime(RECEIVED, Adjusted.FUTURE)),
    ],
    ids=["scanned", "no-time", "within-tolerance", "future", "out-of-order", "same-time", "future-after-last"],
)
def test_a_scan_s_step_takes_the_scan_s_time_within_the_receipt_and_the_last_step(scanned, last_step, expected):
    assert step_time(scanned, RECEIVED, last_step_at=last_step, tolerance=15 * MIN) == expected


def test_csv_import_reads_rows():
    rows = parse_csv(
        "tracking_number,event,at,location,note\n"
        "SF1001,in_transit,2026-03-15T10:00:00+08:00,上海转运中心,\n"
        "SF1001,delivered,2026-03-16T09:30:00+08:00,,本人签收\n"
    )
    assert rows == [
        TrackingRow("SF1001", TrackingKind.IN_TRANSIT, datetime(2026, 3, 15, 2, 0, tzinfo=UTC), "上海转运中心", None),
        TrackingRow("SF1001", TrackingKind.DELIVERED, datetime(2026, 3, 16, 1, 30, tzinfo=UTC), None, "本人签收"),
    ]


def test_csv_import_names_every_bad_cell():
    with pytest.raises(ValidationFailed) as failed:
        parse_csv("tracking_number,event,at\n,teleported,2026-03-15T10:00:00\nSF1,delivered,yesterday\n")
    assert [(p.path, translate(p.key, "en", p.params)) for p in failed.value.problems] == [
        ("rows[0].tracking_number", "rows[0].tracking_number is required."),
        (
            "rows[0].event",
            'rows[0].event: "teleported" is not one of in_transit, export_declared, in_customs, '
            "customs_cleared, out_for_delivery, delivered, refused, lost.",
        ),
        ("rows[0].at", "rows[0].at must be an ISO 8601 date-time with offset."),
        ("rows[1].at", "rows[1].at must be an ISO 8601 date-time with offset."),
    ]
    with pytest.raises(ValidationFailed) as header:
        parse_csv("number,event\nSF1,delivered\n")
    assert [p.params["path"] for p in header.value.problems] == ["header.tracking_number", "header.at"]


REQUEST = BookingRequest("20260315001-1", "domestic_express", 1200, 1, "CN", "200120")


def test_manual_carrier_generates_or_takes_the_number():
    manual = ManualCarrier()
    assert manual.book(REQUEST) == Booking("manual", "MAN202603150011", placeholder=True)  # made up
    assert manual.book(REQUEST, tracking_number="YT123") == Booking("manual", "YT123")
    assert manual.tracking("YT123") == [] and manual.cancel("YT123") is False


def test_fake_carrier_is_idempotent_on_the_shipment_and_can_fail():
    fake = FakeCarrier()
    assert fake.book(REQUEST) == fake.book(REQUEST) == Booking("fake", "FAKE000001")
    assert len(fake.booked) == 1
    fake.fail_with = "carrier unreachable"
    with pytest.raises(CarrierError, match="carrier unreachable"):
        fake.book(REQUEST)


def test_fake_carrier_confirms_or_not_an_interception_and_can_fail():
    fake = FakeCarrier()
    assert fake.cancel("FAKE000001") is True
    fake.confirms = False
    assert fake.cancel("FAKE000002") is False
    assert fake.cancelled == ["FAKE000001", "FAKE000002"]
    fake.fail_with = "carrier unreachable"
    with pytest.raises(CarrierError, match="carrier unreachable"):
        fake.cancel("FAKE000003")
    assert fake.cancelled == ["FAKE000001", "FAKE000002"]


def test_the_states_an_event_kind_leads_to():
    assert states_after(TrackingKind.CUSTOMS_CLEARED) == frozenset({"cleared"})
    assert states_after(TrackingKind.OUT_FOR_DELIVERY) == frozenset({"out_for_delivery"})
    assert states_after(TrackingKind.IN_TRANSIT) == frozenset()  # a movement, not a step
