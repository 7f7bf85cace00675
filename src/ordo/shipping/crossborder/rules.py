"""The legs as pure rules: which action each leg takes, what comes next, what an action needs, and
the export declaration's line data checked field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ordo.fulfillment.states import ShipmentStatus, ShipmentTrigger
from ordo.kernel.checks import Checks
from ordo.kernel.errors import Conflict, Problem, ValidationFailed
from ordo.kernel.money import has_excess_precision, minor_units, quantize
from ordo.policy import Leg

HS_CODE = re.compile(r"[0-9]{6,10}")


class LegStatus(StrEnum):
    PENDING = "pending"  # planned, nothing recorded yet (no row)
    IN_PROGRESS = "in_progress"
    HELD = "held"  # customs holds the goods
    COMPLETED = "completed"


class LegAction(StrEnum):
    BOOK = "book"
    DECLARE = "declare"
    DEPART = "depart"
    ARRIVE = "arrive"
    CLEAR = "clear"
    HOLD = "hold"
    HAND_OVER = "hand_over"


ACTIONS: dict[Leg, tuple[LegAction, ...]] = {
    Leg.EXPORT_BOOKING: (LegAction.BOOK,),
    Leg.EXPORT_DECLARATION: (LegAction.DECLARE,),
    Leg.INTERNATIONAL_TRANSPORT: (LegAction.DEPART,),
    Leg.ARRIVAL: (LegAction.ARRIVE,),
    Leg.CUSTOMS_CLEARANCE: (LegAction.CLEAR, LegAction.HOLD),
    Leg.LAST_MILE: (LegAction.HAND_OVER,),
}

# The body fields each action cannot do without.
REQUIRED: dict[LegAction, tuple[str, ...]] = {
    LegAction.BOOK: ("reference", "carrier", "requested_date"),
    LegAction.DECLARE: (),
    LegAction.DEPART: ("reference",),
    LegAction.ARRIVE: (),
    LegAction.CLEAR: (),
    LegAction.HOLD: ("reason",),
    LegAction.HAND_OVER: ("carrier", "tracking_number"),
}

# The shipment trigger an action fires (the others record the leg without moving the shipment).
TRIGGERS: dict[LegAction, ShipmentTrigger] = {
    LegAction.DECLARE: ShipmentTrigger.DECLARE_EXPORT,
    LegAction.ARRIVE: ShipmentTrigger.ENTER_CUSTOMS,
    LegAction.CLEAR: ShipmentTrigger.CLEAR_CUSTOMS,
    LegAction.HAND_OVER: ShipmentTrigger.OUT_FOR_DELIVERY,
}

# A leg that stays open until a later one ends it: the voyage lasts until the goods arrive.
CLOSED_BY: dict[Leg, Leg] = {Leg.INTERNATIONAL_TRANSPORT: Leg.ARRIVAL}

# Where the goods are on the cross-border path; a step the carrier's tracking already reported
# (the shipment is at or past the step's state) is recorded without firing it again.
_PATH = (
    ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXPORT_DECLARED,
    ShipmentStatus.IN_CUSTOMS, ShipmentStatus.CLEARED, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED,
)
_REACHES = {
    ShipmentTrigger.DECLARE_EXPORT: ShipmentStatus.EXPORT_DECLARED,
    ShipmentTrigger.ENTER_CUSTOMS: ShipmentStatus.IN_CUSTOMS,
    ShipmentTrigger.CLEAR_CUSTOMS: ShipmentStatus.CLEARED,
    ShipmentTrigger.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
}

# Legs that move nothing still need the goods out of the warehouse and not yet delivered.
RECORDABLE_IN: dict[Leg, tuple[ShipmentStatus, ...]] = {
    Leg.EXPORT_BOOKING: (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT),
    Leg.INTERNATIONAL_TRANSPORT: (ShipmentStatus.EXPORT_DECLARED,),
}


def already_reached(status: str, trigger: ShipmentTrigger) -> bool:
    """True when the shipment is at or past the state ``trigger`` leads to on the cross-border path."""
    if status not in _PATH:
        return False
    return _PATH.index(ShipmentStatus(status)) >= _PATH.index(_REACHES[trigger])


def next_leg(plan: Sequence[Leg], statuses: Mapping[Leg, LegStatus]) -> Leg | None:
    """The leg whose action comes next; None when every leg of the plan is done."""
    for leg in plan:
        status = statuses.get(leg, LegStatus.PENDING)
        if status == LegStatus.COMPLETED:
            continue
        if leg in CLOSED_BY and status == LegStatus.IN_PROGRESS:
            return CLOSED_BY[leg]
        return leg
    return None


def check_sequence(plan: Sequence[Leg], statuses: Mapping[Leg, LegStatus], leg: Leg, *, service_type: str) -> None:
    """Refuse (409) a leg not in the plan, a leg already done, or a leg out of order (naming the
    leg expected)."""
    if leg not in plan:
        raise Conflict("leg_not_planned", leg=leg, service_type=service_type,
                       legs=", ".join(plan) or "-")
    if statuses.get(leg) == LegStatus.COMPLETED:
        raise Conflict("leg_completed", leg=leg)
    expected = next_leg(plan, statuses)
    if leg != expected:
        raise Conflict("leg_out_of_order", leg=leg, expected=expected or "-")


def missing_fields(action: LegAction, values: Mapping[str, Any]) -> list[Problem]:
    return [Problem(name, "required", {"path": name}) for name in REQUIRED[action] if values.get(name) in (None, "")]


def check_times(
    values: Mapping[str, Any], now: datetime, *, departed: datetime | None = None
) -> list[Problem]:
    """Reported times may lie in the past, never in the future; an arrival not before the departure."""
    problems = []
    for name in ("departed_at", "arrived_at"):
        at = values.get(name)
        if at is not None and at > now:
            problems.append(Problem(name, "time_in_future", {"path": name, "value": at.isoformat()}))
    arrived = values.get("arrived_at") or now
    if departed is not None and arrived < departed:
        problems.append(Problem("arrived_at", "arrival_before_departure",
                                {"path": "arrived_at", "value": arrived.isoformat(), "departed": departed.isoformat()}))
    return problems


# --- export declaration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclarationSource:
    """One shipment line with what its SKU says for customs."""

    sku: str
    quantity: int
    hs_code: str | None
    declared_value: Decimal | None
    currency: str | None
    origin_country: str | None


DECLARED_FIELDS = ("hs_code", "declared_value", "currency", "origin_country")


def declaration_lines(
    sources: Sequence[DeclarationSource],
    overrides: Sequence[Mapping[str, Any] | None],
    *,
    currencies: Sequence[str],
) -> list[dict[str, Any]]:
    """The declaration's lines: each SKU's customs data, with the body's values (``lines[i]``, in the
    order of the shipment's lines) taking precedence. Every missing or invalid field is reported as
    ``lines[i].field``; nothing is returned unless all are right."""
    problems: list[Problem] = []
    for extra in range(len(sources), len(overrides)):
        problems.append(Problem(f"lines[{extra}]", "declaration_line_unknown",
                                {"path": f"lines[{extra}]", "count": len(sources)}))
    declared = []
    for i, source in enumerate(sources):
        given = {k: v for k, v in ((overrides[i] if i < len(overrides) else None) or {}).items() if v is not None}
        merged: dict[str, Any] = {name: given.get(name, getattr(source, name)) for name in DECLARED_FIELDS}
        checks = Checks()
        path = f"lines[{i}]"
        hs_code = checks.text(merged, "hs_code")
        if hs_code is not None and not HS_CODE.fullmatch(hs_code):
            checks.add("hs_code", "hs_code_invalid", value=hs_code)
        currency = checks.text(merged, "currency")
        if currency is not None:
            currency = currency.upper()
            if currency not in currencies:
                checks.add("currency", "one_of", value=currency, allowed=", ".join(currencies))
                currency = None
        value = merged["declared_value"]
        if value is None:
            checks.add("declared_value", "required")
        elif value <= 0:
            checks.add("declared_value", "not_positive", value=value)
        elif currency is not None and has_excess_precision(value, currency):
            checks.add("declared_value", "amount_precision", currency=currency, digits=minor_units(currency),
                       value=value)
        origin = checks.country(merged, "origin_country")
        problems += [
            Problem(f"{path}.{p.path}", p.key, {**p.params, "path": f"{path}.{p.path}"}) for p in checks.problems
        ]
        if not checks.problems:
            unit = quantize(Decimal(value), str(currency))
            declared.append({
                "sku": source.sku, "quantity": source.quantity, "hs_code": hs_code, "declared_value": str(unit),
                "total_value": str(unit * source.quantity), "currency": currency, "origin_country": origin,
            })
    if problems:
        raise ValidationFailed(problems)
    return declared
