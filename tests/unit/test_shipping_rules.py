"""Carrier choice, volumetric weight, packing instructions and the booking a ship request must keep
(pure, policy defaults)."""

from __future__ import annotations

import pytest

from ordo.policy import CarrierRule, Policy, ShippingPolicy
from ordo.shipping.rules import (
    Booking,
    CarrierChoice,
    CarrierValues,
    ParcelFacts,
    booking_conflicts,
    carrier_code,
    chargeable_weight_g,
    choose_carrier,
    packing_plan,
    volumetric_weight_g,
)

POLICY = Policy().shipping


def facts(service="domestic_express", weight=1500, traits=(), categories=("tea",)):
    return ParcelFacts(
        service_type=service, weight_g=weight, traits=frozenset(traits), categories=frozenset(categories)
    )


@pytest.mark.parametrize(
    ("parcel", "expected"),
    [
        (facts(weight=1000), CarrierChoice("yto", "light_parcel", "parcels up to 1 kg go economy express")),
        (facts(weight=1001), CarrierChoice("zto", "default", "standard express")),
        (
            facts(traits=["bulky"], weight=40_000),
            CarrierChoice("deppon", "bulky", "bulky goods need freight / home delivery"),
        ),
        (
            facts(traits=["electronics"], weight=300),
            CarrierChoice("sf", "electronics", "electronics go with the premium carrier"),
        ),
        (
            facts(service="cold_chain", traits=["perishable"], weight=500),
            CarrierChoice("sf_cold", "cold_chain", "fresh goods travel cold chain"),
        ),
        (
            facts(service="intl_air", traits=["electronics"]),
            CarrierChoice("dhl", "intl_air", "international air service"),
        ),
        (facts(service="intl_sea", traits=["bulky"]), CarrierChoice("cosco", "intl_sea", "international sea service")),
        (
            facts(service="overseas_warehouse"),
            CarrierChoice("local_last_mile", "overseas_warehouse", "shipped from an overseas warehouse"),
        ),
        (
            facts(categories=("furniture",), weight=500),
            CarrierChoice("deppon", "category:furniture", "carrier template of category furniture"),
        ),
    ],
)
def test_carrier_choice_follows_the_policy(parcel, expected):
    assert choose_carrier(parcel, POLICY) == expected


def test_perishable_beats_light_and_electronics_by_rule_order():
    parcel = facts(traits=["perishable", "electronics"], weight=200)
    assert choose_carrier(parcel, POLICY).carrier == "sf_cold"


def test_a_policy_without_a_catch_all_rule_says_so():
    policy = POLICY.model_copy(
        update={"carrier_rules": (CarrierRule(name="light", carrier="yto", max_weight_g=1000, reason="light"),)}
    )
    with pytest.raises(LookupError, match="no carrier rule matches"):
        choose_carrier(facts(weight=5000), policy)


def test_volumetric_and_chargeable_weight():
    # 60 × 40 × 30 cm = 72,000 cm³; / 6000 = 12 kg
    assert volumetric_weight_g(600, 400, 300, 6000) == 12_000
    assert chargeable_weight_g(5_000, 600, 400, 300, 6000) == 12_000
    assert chargeable_weight_g(15_000, 600, 400, 300, 6000) == 15_000
    # rounding up to the gram: 10 × 10 × 10 cm / 6000 = 0.1666… kg
    assert volumetric_weight_g(100, 100, 100, 6000) == 167


def test_packing_instructions_by_trait():
    assert packing_plan(["fragile", "liquid"], POLICY.packing_rules) == packing_plan(
        ["liquid", "fragile"], POLICY.packing_rules
    )
    plan = packing_plan(["perishable", "fragile", "electronics"], POLICY.packing_rules)
    assert plan.instructions == ("cushioning", '"fragile" label', "insulated box", "temperature logger")
    assert plan.temperature_logger is True
    assert packing_plan(["electronics"], POLICY.packing_rules).instructions == ()


@pytest.mark.parametrize(
    ("spelling", "code"),
    [("sf", "sf"), ("SF", "sf"), ("SF Express", "sf"), ("sf-express", "sf"), ("S.F. Express", "sf"), ("顺丰", "sf"),
     ("sf_cold", "sf_cold"), ("SF Cold Chain", "sf_cold"), ("YTO Express", "yto"), ("圆通", "yto"),
     ("local last mile", "local_last_mile"), ("OnTrac", None), ("", None)],
)
def test_a_carrier_is_found_by_its_code_name_or_alias(spelling, code):
    assert carrier_code(spelling, POLICY.carriers) == code


BOOKED = Booking(CarrierValues("yto", "domestic_express", "YT100"))


@pytest.mark.parametrize(
    ("booked", "asked", "conflicts"),
    [
        (BOOKED, CarrierValues(None, None, None), ()),
        (BOOKED, CarrierValues("YTO Economy", "domestic_express", "YT100"), ()),
        (BOOKED, CarrierValues("圆通", None, None), ()),
        (BOOKED, CarrierValues("zto", None, None), ("carrier",)),
        (BOOKED, CarrierValues(None, "domestic_freight", None), ("service",)),
        (BOOKED, CarrierValues(None, None, "YT200"), ("tracking_number",)),
        (BOOKED, CarrierValues("OnTrac", "domestic_freight", "OT-1"), ("carrier", "service", "tracking_number")),
        # A number a manual carrier made up gives way to the real one, not to another carrier.
        (Booking(BOOKED.values, placeholder=True), CarrierValues("yto", None, "YT200"), ()),
        (Booking(BOOKED.values, placeholder=True), CarrierValues("zto", None, "75200"), ("carrier",)),
        # A stand-in carrier gives way to whichever the last mile names.
        (Booking(CarrierValues("local_last_mile", "overseas_warehouse", "LOCALLASTMILE1")),
         CarrierValues("OnTrac", "ground", "OT-77"), ()),
    ],
    ids=["nothing-named", "same-by-name", "same-by-alias", "other-carrier", "other-service", "other-number",
         "all-other", "placeholder-number", "placeholder-other-carrier", "stand-in"],
)
def test_a_ship_request_conflicts_with_the_booking_only_where_it_names_other_values(booked, asked, conflicts):
    assert booking_conflicts(booked, asked, POLICY) == conflicts


def test_stand_in_carriers_are_policy():
    policy = ShippingPolicy(stand_in_carriers=("yto",))
    assert booking_conflicts(BOOKED, CarrierValues("zto", None, "75200"), policy) == ()
    assert booking_conflicts(BOOKED, CarrierValues("zto", None, None), POLICY) == ("carrier",)
