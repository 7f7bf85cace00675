"""Carrier choice, parcel weights and the booking a ship request must keep: pure functions over
plain values."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ordo.policy import Carrier, PackingRule, ShippingPolicy


@dataclass(frozen=True)
class ParcelFacts:
    service_type: str
    weight_g: int
    traits: frozenset[str]
    categories: frozenset[str]


@dataclass(frozen=True)
class CarrierChoice:
    carrier: str
    rule: str
    reason: str


def choose_carrier(facts: ParcelFacts, policy: ShippingPolicy) -> CarrierChoice:
    """The first rule that matches, after the service-type rules and the category templates."""
    rules = policy.carrier_rules
    for rule in rules:
        if rule.service_types and facts.service_type in rule.service_types:
            return CarrierChoice(rule.carrier, rule.name, rule.reason)
    for category in sorted(facts.categories):
        if category in policy.category_carriers:
            return CarrierChoice(
                policy.category_carriers[category], f"category:{category}", f"carrier template of category {category}"
            )
    for rule in rules:
        if rule.service_types:
            continue
        if rule.any_traits and not facts.traits & set(rule.any_traits):
            continue
        if rule.max_weight_g is not None and facts.weight_g > rule.max_weight_g:
            continue
        return CarrierChoice(rule.carrier, rule.name, rule.reason)
    raise LookupError("no carrier rule matches; the policy needs a rule without conditions")


def volumetric_weight_g(length_mm: int, width_mm: int, height_mm: int, divisor: int) -> int:
    """Volumetric weight in grams: cm³ / divisor gives kilograms."""
    cubic_cm = (length_mm / 10) * (width_mm / 10) * (height_mm / 10)
    return math.ceil(cubic_cm / divisor * 1000)


def chargeable_weight_g(actual_g: int, length_mm: int, width_mm: int, height_mm: int, divisor: int) -> int:
    return max(actual_g, volumetric_weight_g(length_mm, width_mm, height_mm, divisor))


@dataclass(frozen=True)
class PackingPlan:
    instructions: tuple[str, ...]
    temperature_logger: bool


def packing_plan(traits: Iterable[str], rules: Iterable[PackingRule]) -> PackingPlan:
    """What the packer must do for goods with these traits, in rule order, without repeats."""
    present = set(traits)
    instructions: list[str] = []
    logger = False
    for rule in rules:
        if rule.trait in present:
            instructions += [i for i in rule.instructions if i not in instructions]
            logger |= rule.needs_temperature_logger
    return PackingPlan(tuple(instructions), logger)


# --- the booking made at hand-over ---------------------------------------------------------------

_SPELLING_NOISE = re.compile(r"[\s._\-]+")


def _spelling(value: str) -> str:
    return _SPELLING_NOISE.sub("", value).casefold()


def carrier_code(value: str, carriers: Mapping[str, Carrier]) -> str | None:
    """The code of the carrier that ``value`` names by its code, name or one of its aliases (case,
    spaces, dots, hyphens and underscores aside); None for a carrier the policy does not know."""
    wanted = _spelling(value)
    for code, carrier in carriers.items():
        if wanted in {_spelling(code), _spelling(carrier.name), *(_spelling(a) for a in carrier.aliases)}:
            return code
    return None


def carrier_named(value: str | None, carriers: Mapping[str, Carrier]) -> str | None:
    """The code of the carrier ``value`` names where the policy knows it, else ``value`` as given."""
    return value and (carrier_code(value, carriers) or value)


@dataclass(frozen=True)
class CarrierValues:
    """Carrier (its code when the policy knows it), service and tracking number of a parcel."""

    carrier: str | None
    service: str | None
    tracking_number: str | None


@dataclass(frozen=True)
class Booking:
    """What hand-over booked. ``placeholder``: a manual carrier made the number up (none was typed)."""

    values: CarrierValues
    placeholder: bool = False


BOOKING_FIELDS = ("carrier", "service", "tracking_number")


def booking_conflicts(booked: Booking, asked: CarrierValues, policy: ShippingPolicy) -> tuple[str, ...]:
    """The fields of a ship request that contradict the booking (in ``BOOKING_FIELDS`` order). A
    field not given keeps the booking; the carrier is compared by its code. Not conflicts: anything
    asked of a carrier that only stands in (``policy.stand_in_carriers``) and a number replacing
    one a manual carrier made up."""
    if booked.values.carrier in policy.stand_in_carriers:
        return ()
    carrier = carrier_named(asked.carrier, policy.carriers)
    differs = {
        "carrier": carrier is not None and carrier != booked.values.carrier,
        "service": asked.service is not None and asked.service != booked.values.service,
        "tracking_number": asked.tracking_number is not None and not booked.placeholder
        and asked.tracking_number != booked.values.tracking_number,
    }
    return tuple(name for name in BOOKING_FIELDS if differs[name])
