"""Pure SLA rules: rule index, conditions, deadlines, the enquiry rule, progress slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ordo.policy import ClockRule, Policy, SlaPolicy
from ordo.sla import rules
from ordo.sla.model import Facts

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
CAL = rules.calendar_of(POLICY)


def test_the_index_finds_rules_by_event_name() -> None:
    index = rules.index_rules(POLICY)
    assert [r.step for r in index.starts["order.created"]] == [
        "auto_review", "manual_review", "first_review", "ship_normal", "ship_promotion", "ship_fresh"
    ]
    assert index.stops["shipment.finish_pick"] == ["picking"]
    assert "shipment.cancel" in index.cancels
    assert not index.concerns("sku.updated")
    assert index.concerns("order.hold")


def test_every_shipment_clock_ends_with_every_terminal_shipment_event() -> None:
    from ordo.policy import SHIPMENT_TERMINAL

    for rule in POLICY.sla.clocks:
        if rule.entity == "shipment":
            assert set(SHIPMENT_TERMINAL) <= set(rule.cancel) | set(rule.stop), rule.step
    declare = next(r for r in POLICY.sla.clocks if r.step == "booking_and_declaration")
    assert declare.stop == ("shipment.declare_export",)
    assert set(declare.cancel) == {"shipment.cancel", "shipment.intercept", "shipment.lose", "shipment.deliver",
                                   "shipment.return"}


def test_a_stalled_parcel_is_the_breach_of_the_no_movement_clock_which_a_carrier_scan_restarts() -> None:
    index = rules.index_rules(POLICY)
    assert index.breach_events == {"tracking_stalled": "shipment.stalled"}
    assert [r.step for r in index.starts["shipment.moved"]] == ["tracking_stalled"]
    assert index.stops["shipment.moved"] == ["tracking_stalled"]


def test_escalation_after_is_per_rule_with_the_policy_default() -> None:
    own = ClockRule(step="picking", entity="shipment", start=("shipment.start_pick",),
                    stop=("shipment.finish_pick",), department="warehouse", escalate_after=timedelta(minutes=15))
    plain = ClockRule(step="check_after_pick", entity="shipment", start=("shipment.finish_pick",),
                      stop=("shipment.check",), department="warehouse")
    index = rules.index_rules(Policy(sla=SlaPolicy(clocks=(own, plain), escalate_after=timedelta(hours=3))))
    assert rules.escalate_after(index, "picking", timedelta(hours=3)) == timedelta(minutes=15)
    assert rules.escalate_after(index, "check_after_pick", timedelta(hours=3)) == timedelta(hours=3)


def test_a_rule_without_a_time_limit_is_refused() -> None:
    bad = ClockRule(step="nope", entity="order", start=("order.created",), stop=("order.ship",), department="x")
    with pytest.raises(ValueError, match="nope"):
        rules.index_rules(Policy(sla=SlaPolicy(clocks=(bad,))))


def test_conditions() -> None:
    fresh = next(r for r in POLICY.sla.clocks if r.step == "ship_fresh")
    review = next(r for r in POLICY.sla.clocks if r.step == "manual_review")
    declare = next(r for r in POLICY.sla.clocks if r.step == "booking_and_declaration")
    assert rules.applies(fresh, Facts(order_class="fresh"), "pending_review")
    assert not rules.applies(fresh, Facts(order_class="normal"), "pending_review")
    assert not rules.applies(review, Facts(), "pending_payment")
    assert rules.applies(declare, Facts(service_type="intl_air"), "handed_over")
    assert not rules.applies(declare, Facts(service_type="domestic_express"), "handed_over")


def test_deadlines_by_calendar_mode() -> None:
    start = datetime(2026, 2, 13, 10, 0, tzinfo=SH)
    limits = POLICY.time_limits
    assert rules.deadline(start, limits["ship_fresh"], CAL) == datetime(2026, 2, 13, 14, 0, tzinfo=UTC)
    assert rules.deadline(start, limits["refund_original_route"], CAL) == datetime(2026, 2, 25, 2, 0, tzinfo=UTC)


def test_enquiry_within_hours_30_minutes_otherwise_ten_next_working_day() -> None:
    assert rules.enquiry_deadline(datetime(2026, 9, 30, 14, 0, tzinfo=SH), POLICY, CAL) == datetime(
        2026, 9, 30, 6, 30, tzinfo=UTC
    )
    assert rules.enquiry_deadline(datetime(2026, 9, 30, 20, 0, tzinfo=SH), POLICY, CAL) == datetime(
        2026, 10, 8, 2, 0, tzinfo=UTC
    )


def test_elapsed_leaves_out_the_time_on_hold() -> None:
    start = datetime(2026, 3, 15, 2, tzinfo=UTC)
    assert rules.elapsed(start, start + timedelta(hours=5), timedelta(hours=2)) == timedelta(hours=3)


def test_progress_slot_is_the_latest_check_passed_today() -> None:
    assert rules.progress_slot(datetime(2026, 3, 16, 8, 59, tzinfo=SH), ("09:00", "15:00"), CAL) is None
    assert rules.progress_slot(datetime(2026, 3, 16, 9, 0, tzinfo=SH), ("09:00", "15:00"), CAL) == datetime(
        2026, 3, 16, 9, 0, tzinfo=SH
    )
    assert rules.progress_slot(datetime(2026, 3, 16, 23, 0, tzinfo=SH), ("15:00", "09:00"), CAL) == datetime(
        2026, 3, 16, 15, 0, tzinfo=SH
    )
