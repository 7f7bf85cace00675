"""Cross-border legs as pure rules: the plan per service type, their order, the declaration's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ordo.kernel.errors import Conflict, ValidationFailed
from ordo.policy import Leg, Policy, ServiceTypePolicy
from ordo.shipping.crossborder.rules import (
    DeclarationSource,
    LegStatus,
    already_reached,
    check_sequence,
    check_times,
    declaration_lines,
    next_leg,
)

ALL = (Leg.EXPORT_BOOKING, Leg.EXPORT_DECLARATION, Leg.INTERNATIONAL_TRANSPORT, Leg.ARRIVAL,
       Leg.CUSTOMS_CLEARANCE, Leg.LAST_MILE)
C, P, IP, H = LegStatus.COMPLETED, LegStatus.PENDING, LegStatus.IN_PROGRESS, LegStatus.HELD
CURRENCIES = ("CNY", "USD")


@pytest.mark.parametrize(
    ("service_type", "legs"),
    [
        ("intl_air", ALL),
        ("intl_sea", ALL),
        ("overseas_warehouse", (Leg.LAST_MILE,)),
        ("domestic_express", ()),
        ("domestic_freight", ()),
        ("cold_chain", ()),
    ],
)
def test_each_service_type_plans_its_legs_in_the_policy(service_type, legs):
    assert Policy().intake.service_types[service_type].legs == legs


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (("arrival", "international_transport"), "legs must be distinct and in the order"),
        (("last_mile", "last_mile"), "legs must be distinct and in the order"),
        (("export_declaration", "international_transport"), "international_transport and arrival go together"),
        (("teleport",), "Input should be"),
    ],
)
def test_a_policy_file_cannot_plan_legs_out_of_order(legs, message):
    with pytest.raises(ValidationError, match=message):
        ServiceTypePolicy(scope="international", legs=legs)


def test_a_policy_may_plan_fewer_legs_in_the_right_order():
    service = ServiceTypePolicy(scope="international", legs=("export_declaration", "customs_clearance", "last_mile"))
    assert service.legs == (Leg.EXPORT_DECLARATION, Leg.CUSTOMS_CLEARANCE, Leg.LAST_MILE)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, Leg.EXPORT_BOOKING),
        ({Leg.EXPORT_BOOKING: C}, Leg.EXPORT_DECLARATION),
        ({Leg.EXPORT_BOOKING: C, Leg.EXPORT_DECLARATION: C}, Leg.INTERNATIONAL_TRANSPORT),
        # The voyage is under way: the arrival ends it.
        ({Leg.EXPORT_BOOKING: C, Leg.EXPORT_DECLARATION: C, Leg.INTERNATIONAL_TRANSPORT: IP}, Leg.ARRIVAL),
        ({Leg.EXPORT_BOOKING: C, Leg.EXPORT_DECLARATION: C, Leg.INTERNATIONAL_TRANSPORT: C, Leg.ARRIVAL: C,
          Leg.CUSTOMS_CLEARANCE: IP}, Leg.CUSTOMS_CLEARANCE),
        ({Leg.EXPORT_BOOKING: C, Leg.EXPORT_DECLARATION: C, Leg.INTERNATIONAL_TRANSPORT: C, Leg.ARRIVAL: C,
          Leg.CUSTOMS_CLEARANCE: H}, Leg.CUSTOMS_CLEARANCE),
        ({Leg.EXPORT_BOOKING: C, Leg.EXPORT_DECLARATION: C, Leg.INTERNATIONAL_TRANSPORT: C, Leg.ARRIVAL: C,
          Leg.CUSTOMS_CLEARANCE: C}, Leg.LAST_MILE),
        (dict.fromkeys(ALL, C), None),
    ],
)
def test_the_next_leg_is_the_first_not_done(statuses, expected):
    assert next_leg(ALL, statuses) == expected


def test_a_leg_out_of_order_is_refused_naming_the_leg_expected():
    with pytest.raises(Conflict) as refused:
        check_sequence(ALL, {Leg.EXPORT_BOOKING: C}, Leg.ARRIVAL, service_type="intl_air")
    assert (refused.value.key, refused.value.params) == (
        "leg_out_of_order", {"leg": Leg.ARRIVAL, "expected": Leg.EXPORT_DECLARATION}
    )


def test_a_completed_leg_is_not_recorded_twice():
    with pytest.raises(Conflict) as refused:
        check_sequence(ALL, {Leg.EXPORT_BOOKING: C}, Leg.EXPORT_BOOKING, service_type="intl_air")
    assert (refused.value.key, refused.value.params) == ("leg_completed", {"leg": Leg.EXPORT_BOOKING})


def test_a_leg_the_service_type_does_not_plan_is_refused():
    with pytest.raises(Conflict) as refused:
        check_sequence((Leg.LAST_MILE,), {}, Leg.CUSTOMS_CLEARANCE, service_type="overseas_warehouse")
    assert (refused.value.key, refused.value.params) == (
        "leg_not_planned", {"leg": Leg.CUSTOMS_CLEARANCE, "service_type": "overseas_warehouse", "legs": "last_mile"}
    )


def test_held_customs_may_be_cleared_or_held_again():
    statuses = {leg: C for leg in ALL[:4]} | {Leg.CUSTOMS_CLEARANCE: H}
    check_sequence(ALL, statuses, Leg.CUSTOMS_CLEARANCE, service_type="intl_air")  # no error


@pytest.mark.parametrize(
    ("status", "trigger", "reached"),
    [
        ("in_transit", "declare_export", False),
        ("export_declared", "declare_export", True),
        ("export_declared", "enter_customs", False),
        ("cleared", "enter_customs", True),
        ("in_customs", "clear_customs", False),
        ("delivered", "out_for_delivery", True),
        ("handed_over", "out_for_delivery", False),
        ("lost", "enter_customs", False),
    ],
)
def test_a_step_tracking_already_reported_is_not_fired_again(status, trigger, reached):
    assert already_reached(status, trigger) is reached


NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


def test_reported_times_may_not_lie_in_the_future_or_arrive_before_departing():
    problems = check_times({"arrived_at": NOW - timedelta(hours=5)}, NOW, departed=NOW - timedelta(hours=4))
    assert [(p.path, p.key) for p in problems] == [("arrived_at", "arrival_before_departure")]
    problems = check_times({"departed_at": NOW + timedelta(minutes=1)}, NOW)
    assert [(p.path, p.key, p.params["value"]) for p in problems] == [
        ("departed_at", "time_in_future", "2026-03-16T02:01:00+00:00")
    ]
    assert check_times({"arrived_at": NOW}, NOW, departed=NOW - timedelta(days=2)) == []


def source(sku="TEA-001", quantity=2, hs_code="0902300000", value="12.50", currency="USD", origin="CN"):
    return DeclarationSource(sku, quantity, hs_code, Decimal(value) if value is not None else None, currency, origin)


def test_the_declaration_takes_each_lines_data_from_its_sku():
    assert declaration_lines([source()], [], currencies=CURRENCIES) == [
        {"sku": "TEA-001", "quantity": 2, "hs_code": "0902300000", "declared_value": "12.50",
         "total_value": "25.00", "currency": "USD", "origin_country": "CN"}
    ]


def test_the_body_overrides_the_sku_data_per_line():
    lines = declaration_lines(
        [source(), source(sku="MUG-002", quantity=1, hs_code=None, origin=None)],
        [None, {"hs_code": "691110", "origin_country": "vn", "declared_value": Decimal("8")}],
        currencies=CURRENCIES,
    )
    assert lines[1] == {"sku": "MUG-002", "quantity": 1, "hs_code": "691110", "declared_value": "8.00",
                        "total_value": "8.00", "currency": "USD", "origin_country": "VN"}


def reported(sources, overrides=()):
    with pytest.raises(ValidationFailed) as failed:
        declaration_lines(sources, list(overrides), currencies=CURRENCIES)
    return [(p.path, p.key) for p in failed.value.problems]


def test_every_missing_field_is_named_by_line():
    assert reported([source(origin=None), source(hs_code=None, value=None, origin=None)]) == [
        ("lines[0].origin_country", "required"),
        ("lines[1].hs_code", "required"),
        ("lines[1].declared_value", "required"),
        ("lines[1].origin_country", "required"),
    ]


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"hs_code": "09023"}, ("lines[0].hs_code", "hs_code_invalid")),
        ({"hs_code": "09023000001"}, ("lines[0].hs_code", "hs_code_invalid")),
        ({"hs_code": "0902.30"}, ("lines[0].hs_code", "hs_code_invalid")),
        ({"declared_value": Decimal("0")}, ("lines[0].declared_value", "not_positive")),
        ({"declared_value": Decimal("-1")}, ("lines[0].declared_value", "not_positive")),
        ({"declared_value": Decimal("1.234")}, ("lines[0].declared_value", "amount_precision")),
        ({"currency": "XXX"}, ("lines[0].currency", "one_of")),
        ({"origin_country": "ZZ"}, ("lines[0].origin_country", "country_unknown")),
    ],
)
def test_invalid_values_are_named_by_line(override, problem):
    assert reported([source()], [override]) == [problem]


def test_an_override_for_a_line_the_shipment_does_not_have_is_refused():
    assert reported([source()], [None, {"hs_code": "0902300000"}]) == [("lines[1]", "declaration_line_unknown")]
