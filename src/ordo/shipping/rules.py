"""Carrier choice and parcel weights: pure functions over plain values."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ordo.policy import PackingRule, ShippingPolicy


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
