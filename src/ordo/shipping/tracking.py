"""Tracking events: what each kind of carrier event does to a shipment, the time the step a scan
makes is recorded at, and reading a bulk CSV import with every problem named by row and column.
Pure. (A parcel that stopped moving is the breach of its ``tracking_stalled`` clock:
``shipping.stalls``.)"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ordo.fulfillment.states import SHIPMENT, ShipmentTrigger
from ordo.kernel.errors import Problem, ValidationFailed


class TrackingKind(StrEnum):
    IN_TRANSIT = "in_transit"
    EXPORT_DECLARED = "export_declared"
    IN_CUSTOMS = "in_customs"
    CUSTOMS_CLEARED = "customs_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    REFUSED = "refused"
    LOST = "lost"


_TRIGGERS: dict[TrackingKind, ShipmentTrigger | None] = {
    TrackingKind.IN_TRANSIT: None,  # a movement, not a change of state
    TrackingKind.EXPORT_DECLARED: ShipmentTrigger.DECLARE_EXPORT,
    TrackingKind.IN_CUSTOMS: ShipmentTrigger.ENTER_CUSTOMS,
    TrackingKind.CUSTOMS_CLEARED: ShipmentTrigger.CLEAR_CUSTOMS,
    TrackingKind.OUT_FOR_DELIVERY: ShipmentTrigger.OUT_FOR_DELIVERY,
    TrackingKind.DELIVERED: ShipmentTrigger.DELIVER,
    TrackingKind.REFUSED: ShipmentTrigger.REFUSE,
    TrackingKind.LOST: ShipmentTrigger.LOSE,
}


def trigger_for(kind: TrackingKind, status: str) -> ShipmentTrigger | None:
    """The shipment trigger an event fires in this state; None for a plain movement. A state change
    the table does not allow raises IllegalTransition (e.g. "delivered" for a shipment not yet
    handed over)."""
    trigger = _TRIGGERS[kind]
    if trigger is not None:
        SHIPMENT.fire(status, trigger)
    return trigger


def states_after(kind: TrackingKind) -> frozenset[str]:
    """The states an event of this kind moves a shipment into (none for a plain movement)."""
    trigger = _TRIGGERS[kind]
    if trigger is None:
        return frozenset()
    return frozenset(to for (_, fired), to in SHIPMENT.transitions.items() if fired == trigger)


@dataclass(frozen=True)
class TrackingRow:
    tracking_number: str
    kind: TrackingKind
    at: datetime | None  # the scan's own time; None: the scan has none (the receipt's is taken)
    location: str | None
    note: str | None


class Adjusted(StrEnum):
    """Why a scan's step is not recorded at the scan's own time."""

    FUTURE = "future"  # the scan is dated after its receipt (beyond the tolerance): taken at the receipt
    OUT_OF_ORDER = "out_of_order"  # older than the shipment's last step: taken at that step's time


@dataclass(frozen=True)
class StepTime:
    at: datetime
    adjusted: Adjusted | None = None


def step_time(scanned_at: datetime | None, received_at: datetime, *, last_step_at: datetime | None,
              tolerance: timedelta) -> StepTime:
    """When the step (or movement) a carrier scan makes happened: at the scan's own time (its
    receipt's when the scan has none), so that SLA clocks count from when the parcel moved, not from
    when Ordo heard of it. Never after the receipt: a parcel cannot have moved later than Ordo hears
    of it, and a scan dated more than ``tolerance`` ahead is marked ``future``. Never before the
    shipment's ``last_step_at`` (None for a plain movement): a scan reported late is applied at that
    step's time, marked ``out_of_order``, so the shipment's steps never go back in time."""
    at = scanned_at or received_at
    adjusted = Adjusted.FUTURE if at - received_at > tolerance else None
    at = min(at, received_at)
    if last_step_at is not None and at < last_step_at:
        at, adjusted = last_step_at, Adjusted.OUT_OF_ORDER
    return StepTime(at, adjusted)


COLUMNS = ("tracking_number", "event", "at", "location", "note")


def parse_csv(text: str) -> list[TrackingRow]:
    """Rows of a tracking CSV (header: tracking_number,event,at[,location,note]); all or nothing."""
    reader = csv.DictReader(io.StringIO(text))
    problems: list[Problem] = []
    missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or ())]
    if missing:
        raise ValidationFailed(Problem("header", "required", {"path": f"header.{m}"}) for m in missing)
    rows: list[TrackingRow] = []
    for index, raw in enumerate(reader):
        path = f"rows[{index}]"
        number = (raw.get("tracking_number") or "").strip()
        if not number:
            problems.append(Problem(f"{path}.tracking_number", "required", {"path": f"{path}.tracking_number"}))
        event = (raw.get("event") or "").strip()
        kind = TrackingKind(event) if event in TrackingKind.__members__.values() else None
        if kind is None:
            problems.append(
                Problem(
                    f"{path}.event",
                    "one_of",
                    {"path": f"{path}.event", "value": event, "allowed": ", ".join(TrackingKind)},
                )
            )
        at = _aware((raw.get("at") or "").strip())
        if at is None:
            problems.append(
                Problem(
                    f"{path}.at",
                    "invalid_type",
                    {"path": f"{path}.at", "expected": "an ISO 8601 date-time with offset"},
                )
            )
        if number and kind is not None and at is not None:
            rows.append(
                TrackingRow(
                    number,
                    kind,
                    at,
                    (raw.get("location") or "").strip() or None,
                    (raw.get("note") or "").strip() or None,
                )
            )
    if problems:
        raise ValidationFailed(problems)
    return rows


def _aware(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None
