"""Shipping commands: pack, override the carrier, intercept a parcel with its carrier, take
tracking events in (one, a CSV file, or pulled from the carriers' adapters), work the follow-up
tasks. They run inside the caller's transaction; shipments move only through
``order.handlers.advance_shipments`` so the order follows. Stalled parcels: ``stalls``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordo.adapters.carriers.base import CarrierError
from ordo.audit.log import record
from ordo.audit.tables import Event
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.fulfillment.states import MOVING, SHIPMENT, ShipmentStatus, ShipmentTrigger
from ordo.fulfillment.tables import Shipment
from ordo.inventory import handlers as inventory
from ordo.kernel.errors import Conflict, IllegalTransition, NotFound, OrdoError, Problem, ValidationFailed
from ordo.order import handlers as orders
from ordo.order.lifecycle import load_order, lock_orders_not_busy
from ordo.order.tables import Order
from ordo.shipping import steps
from ordo.shipping.rules import carrier_code
from ordo.shipping.steps import ParcelIn
from ordo.shipping.tables import FollowupTask, TrackingEvent
from ordo.shipping.tracking import Adjusted, TrackingKind, TrackingRow, parse_csv, states_after, step_time, trigger_for

log = logging.getLogger(__name__)

# The policy key of the refusal follow-up's time limit (POLICIES.md: refused → contact in 2 hours).
REFUSAL_CONTACT = "refusal_contact"


def load_shipment(session: Session, number: str, actor: Actor, *, for_update: bool = False) -> tuple[Shipment, Order]:
    """The shipment and its order if the actor may see them; else "not found". ``for_update``: the
    order row is locked first and the shipment read after it, so a command that waited for the
    lock sees what the one before it did."""
    shipment = session.scalars(select(Shipment).where(Shipment.number == number)).one_or_none()
    if shipment is None:
        raise NotFound("shipment", number)
    try:
        order = load_order(session, session.get_one(Order, shipment.order_id).number, actor, for_update=for_update)
    except NotFound:
        raise NotFound("shipment", number) from None
    if for_update:
        session.refresh(shipment)
    if not orders._warehouse_in_scope(session, shipment, actor):
        raise NotFound("shipment", number)
    return shipment, order


# --- packing ------------------------------------------------------------------------------------


def pack(
    uow: UnitOfWork,
    *,
    number: str,
    confirmed: list[str],
    parcels: list[ParcelIn],
    temperature_logger_id: str | None,
    actor: Actor,
) -> Shipment:
    """Record what the packer confirmed and weighed, then fire ``pack`` (its guard checks the
    record; the carrier is chosen right after)."""
    actor.require(Permission.SHIPMENT_PACK)
    session = uow.session
    shipment, order = load_shipment(session, number, actor, for_update=True)
    if shipment.status != ShipmentStatus.CHECKED:
        raise Conflict("packing_not_now", shipment=number, state=shipment.status)
    steps.record_packing(session, shipment, confirmed=confirmed, parcels=parcels,
                         temperature_logger_id=temperature_logger_id, at=uow.clock.now())
    orders.advance_shipments(uow, number=order.number, trigger=ShipmentTrigger.PACK, actor=actor, shipment=number)
    return shipment


def override_carrier(uow: UnitOfWork, *, number: str, carrier: str, reason: str, actor: Actor) -> Shipment:
    """Logistics staff replace the chosen carrier, saying why; weights follow the new divisor."""
    actor.require(Permission.SHIPMENT_CARRIER)
    session, now = uow.session, uow.clock.now()
    known = uow.policy.shipping.carriers
    code = carrier_code(carrier, known)  # its code, name or an alias
    if code is None:
        raise ValidationFailed([Problem("carrier", "carrier_unknown",
                                        {"path": "carrier", "value": carrier, "allowed": ", ".join(sorted(known))})])
    shipment, _ = load_shipment(session, number, actor, for_update=True)
    if shipment.status != ShipmentStatus.PACKED:
        raise Conflict("carrier_change_not_allowed", shipment=number, state=shipment.status)
    rec = steps.shipping_record(session, shipment)
    before = shipment.carrier
    shipment.carrier = code
    rec.carrier_rule, rec.carrier_reason, rec.carrier_overridden = "override", reason, True
    chargeable = steps.reweigh(session, shipment, uow.policy)
    shipment.updated_at = now
    record(
        session, at=now, actor=actor.name, entity="shipment", entity_id=shipment.id, order_id=shipment.order_id,
        name="shipment.carrier_overridden", reason=reason,
        data={"shipment": number, "from": before, "carrier": code, "chargeable_weight_g": chargeable},
    )
    return shipment


def book(uow: UnitOfWork, shipment: Shipment, *, actor: str, tracking_number: str | None = None) -> str:
    """Book the shipment with its carrier (a no-op when already booked); the tracking number."""
    try:
        steps.after_hand_over(uow, shipment, actor=actor, tracking_number=tracking_number)
    except CarrierError as exc:
        raise Conflict("carrier_failed", carrier=shipment.carrier, shipment=shipment.number, detail=str(exc)) from None
    return str(shipment.tracking_number)


def statuses_of(session: Session, order: Order) -> list[str]:
    """The statuses of the order's shipments (for its roll-up)."""
    return list(session.scalars(select(Shipment.status).where(Shipment.order_id == order.id).order_by(Shipment.id)))


@dataclass(frozen=True)
class Interception:
    shipment: Shipment
    order: Order
    carrier_confirmed: bool


def intercept(uow: UnitOfWork, *, number: str, reason: str, actor: Actor) -> Interception:
    """Stop a parcel already with the carrier: ask the carrier's adapter to cancel / intercept it,
    then fire ``intercept`` with the reason and whether the carrier confirmed (a manual carrier
    cannot: staff call the carrier). A carrier error refuses the whole request, nothing changed.

    The carrier is asked before the step is written; a retry after a failed commit asks again,
    which carriers treat as the same request (keyed by the tracking number)."""
    actor.require(Permission.SHIPMENT_CARRIER)
    shipment, order = load_shipment(uow.session, number, actor, for_update=True)
    if not SHIPMENT.can(shipment.status, ShipmentTrigger.INTERCEPT):
        raise Conflict("intercept_not_allowed", shipment=number, state=shipment.status)
    carrier = str(shipment.carrier)
    try:
        confirmed = bool(shipment.tracking_number) and uow.carriers.get(carrier).cancel(str(shipment.tracking_number))
    except CarrierError as exc:
        raise Conflict("carrier_intercept_failed", carrier=carrier, shipment=number, detail=str(exc)) from None
    orders.advance_shipments(uow, number=order.number, trigger=ShipmentTrigger.INTERCEPT, actor=actor,
                             shipment=number, note=reason,
                             data={"carrier": carrier, "tracking_number": shipment.tracking_number,
                                   "carrier_confirmed": confirmed})
    return Interception(shipment, order, confirmed)


# --- tracking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingOutcome:
    stored: int
    duplicates: int


def _trigger(kind: TrackingKind, status: str) -> ShipmentTrigger | None:
    """The step a carrier event makes. "In transit" for a parcel just handed over is its pick-up
    (the ``ship`` step); for a moving parcel it is a plain movement."""
    if kind == TrackingKind.IN_TRANSIT:
        if status == ShipmentStatus.HANDED_OVER:
            return ShipmentTrigger.SHIP
        if status in MOVING:
            return None
        raise IllegalTransition("shipment", status, kind, ())
    return trigger_for(kind, status)


def _take(
    uow: UnitOfWork, shipment: Shipment, order: Order, row: TrackingRow, *, actor: Actor, source: str,
    row_index: int | None = None,
) -> bool:
    """Store one event and move the shipment, at the scan's time (``tracking.step_time``); False
    when it was stored before."""
    session, now = uow.session, uow.clock.now()
    scanned_at = row.at or now
    seen = session.scalar(
        select(TrackingEvent.id).where(TrackingEvent.shipment_id == shipment.id, TrackingEvent.kind == row.kind,
                                       TrackingEvent.at == scanned_at)
    )
    if seen is not None:
        return False
    try:
        trigger = _trigger(row.kind, shipment.status)
    except IllegalTransition:
        if source == "carrier" and _step_taken(session, shipment, row.kind):
            # The carrier reports a step staff recorded already (an order action): kept in the
            # parcel's history, no second step — refused, it would be pulled and refused every round.
            _store(session, shipment, row, at=scanned_at, source=source, received_at=now)
            session.flush()
            return True
        params = {"shipment": shipment.number, "state": shipment.status, "event": str(row.kind)}
        if row_index is None:
            raise Conflict("tracking_not_allowed", **params) from None
        raise Conflict("tracking_row_not_allowed", row=row_index, **params) from None
    step = step_time(row.at, now, last_step_at=_last_step_at(session, shipment) if trigger is not None else None,
                     tolerance=uow.policy.shipping.scan_future_tolerance)
    adjusted = {"scanned_at": scanned_at.isoformat(), "adjusted": str(step.adjusted)} if step.adjusted else {}
    _store(session, shipment, row, at=scanned_at, source=source, received_at=now, adjusted=step.adjusted)
    if trigger is not None:
        orders.advance_shipments(uow, number=order.number, trigger=trigger, actor=actor, shipment=shipment.number,
                                 note=row.note, data=adjusted, at=step.at)
    rec = steps.shipping_record(session, shipment)
    if rec.last_movement_at is None or step.at > rec.last_movement_at:
        rec.last_movement_at = step.at
        if trigger is None:
            # A scan that changes no state is still a movement: an event at the scan's time, which
            # the no-movement clock listens to (stopped and started again) and which ends a stall.
            record(session, at=step.at, actor=actor.name, entity="shipment", entity_id=shipment.id,
                   order_id=order.id, name="shipment.moved",
                   data={"shipment": shipment.number, "location": row.location, **adjusted})
    if row.kind == TrackingKind.REFUSED:
        _open_followup(uow, order, shipment, kind="refusal_contact", actor=actor.name)
    session.flush()
    return True


def _store(session: Session, shipment: Shipment, row: TrackingRow, *, at: datetime, source: str,
           received_at: datetime, adjusted: Adjusted | None = None) -> None:
    session.add(TrackingEvent(shipment_id=shipment.id, tracking_number=shipment.tracking_number or row.tracking_number,
                              kind=row.kind, at=at, location=row.location, note=row.note, source=source,
                              received_at=received_at, adjusted=adjusted))


def _step_taken(session: Session, shipment: Shipment, kind: TrackingKind) -> bool:
    """Whether the shipment has reached, at some point, the state this kind of event leads to."""
    targets = sorted(states_after(kind))
    if not targets:
        return False
    return shipment.status in targets or session.scalar(select(Event.id).where(
        Event.entity == "shipment", Event.entity_id == shipment.id, Event.to_state.in_(targets)).limit(1)) is not None


def _last_step_at(session: Session, shipment: Shipment) -> datetime | None:
    """When the shipment's latest step happened (its events that name a state)."""
    return session.scalar(select(func.max(Event.created_at)).where(
        Event.entity == "shipment", Event.entity_id == shipment.id, Event.to_state.is_not(None)))


def track(
    uow: UnitOfWork, *, number: str, kind: TrackingKind, at: datetime | None, location: str | None,
    note: str | None, actor: Actor,
) -> TrackingOutcome:
    """One carrier event typed or posted; ``at``: when it was scanned (None: now)."""
    actor.require(Permission.SHIPMENT_DELIVER)
    shipment, order = load_shipment(uow.session, number, actor, for_update=True)
    row = TrackingRow(shipment.tracking_number or "", kind, at, location, note)
    stored = _take(uow, shipment, order, row, actor=actor, source="api")
    return TrackingOutcome(int(stored), int(not stored))


def import_csv(uow: UnitOfWork, *, text: str, actor: Actor) -> TrackingOutcome:
    """A carrier's tracking file, all or nothing: every bad cell named (422), then every unknown
    tracking number (422), then the events in time order; an event the shipment's state does not
    allow refuses the whole file (409 naming the row)."""
    actor.require(Permission.SHIPMENT_DELIVER)
    rows = parse_csv(text)
    session = uow.session
    numbers = sorted({r.tracking_number for r in rows})
    found = {
        s.tracking_number: s
        for s in session.scalars(select(Shipment).where(Shipment.tracking_number.in_(numbers)).order_by(Shipment.id))
    } if numbers else {}
    unknown = [
        Problem(f"rows[{i}].tracking_number", "tracking_number_unknown",
                {"path": f"rows[{i}].tracking_number", "value": r.tracking_number})
        for i, r in enumerate(rows) if r.tracking_number not in found
    ]
    if unknown:
        raise ValidationFailed(unknown)
    stored = duplicates = 0
    for index, row in sorted(enumerate(rows), key=lambda item: (item[1].at, item[0])):
        shipment, order = load_shipment(session, found[row.tracking_number].number, actor, for_update=True)
        if _take(uow, shipment, order, row, actor=actor, source="csv", row_index=index):
            stored += 1
        else:
            duplicates += 1
    return TrackingOutcome(stored, duplicates)


@dataclass(frozen=True)
class PullOutcome:
    stored: int
    duplicates: int
    failed: list[str] = field(default_factory=list)  # shipments whose carrier or events were refused
    busy: list[str] = field(default_factory=list)  # orders a command held: their events wait for the next pull
    # Where the next pull goes on: the id of the last shipment asked about when the batch was full;
    # 0 when this pull reached the last moving shipment (the next one starts from the first again).
    resume_after: int = 0


# States in which a carrier still reports on a parcel.
_PULLED = (ShipmentStatus.HANDED_OVER, *MOVING)


def pull_tracking(uow: UnitOfWork, *, batch: int = 500, after: int = 0) -> PullOutcome:
    """Ask the carrier adapters of at most ``batch`` moving shipments — in id order, those after the
    id ``after`` (a previous pull's ``resume_after``, so that successive pulls go round every moving
    shipment however many there are) — for their events and take the new ones in, in time order,
    exactly as the tracking API does (stored once: a pulled event seen before is a duplicate). One
    shipment's trouble — the carrier unreachable, an event its state does not allow — leaves that
    shipment as it was (savepoint) and is reported; the others go on.

    Locks follow the global order (docs/architecture.md): the carriers are asked first, while
    nothing is locked; then the orders with new events are taken in id order without waiting
    (``lock_orders_not_busy``) — one an order command holds is reported ``busy`` and pulled again
    next time, so the pull never waits for a command that may wait for it; then the stock rows
    the handed-over shipments among them may consume, in (warehouse, SKU) order; only then are
    the events taken in."""
    session = uow.session
    actor = Actor.system()
    rows = session.scalars(
        select(Shipment).where(Shipment.status.in_(list(_PULLED)), Shipment.tracking_number.is_not(None),
                               Shipment.carrier.is_not(None), Shipment.id > after)
        .order_by(Shipment.id).limit(batch)
    ).all()
    fresh, duplicates, failed = _ask_carriers(uow, list(rows))
    locked = lock_orders_not_busy(session, {s.order_id for s in fresh})
    inventory.lock_reserved_stock(session, [s.id for s in fresh
                                            if s.order_id in locked and s.status == ShipmentStatus.HANDED_OVER])
    stored = 0
    for shipment, events in fresh.items():
        if shipment.order_id not in locked:
            continue
        try:
            with session.begin_nested():
                current, order = load_shipment(session, shipment.number, actor, for_update=True)
                new = sum(_take(uow, current, order, row, actor=actor, source="carrier") for row in events)
        except OrdoError as exc:
            log.warning("tracking pull: %s refused: %s", shipment.number, exc)
            failed.append(shipment.number)
            continue
        stored += new
        duplicates += len(events) - new
    busy = sorted({s.order_id for s in fresh} - set(locked))
    numbers = list(session.scalars(select(Order.number).where(Order.id.in_(busy)).order_by(Order.id))) if busy else []
    position = {s.number: i for i, s in enumerate(rows)}
    return PullOutcome(stored, duplicates, sorted(failed, key=position.__getitem__), numbers,
                       resume_after=rows[-1].id if len(rows) == batch else 0)


def _ask_carriers(uow: UnitOfWork, shipments: list[Shipment]) -> tuple[dict[Shipment, list[TrackingRow]], int,
                                                                         list[str]]:
    """Each shipment's events from its carrier's adapter that are not stored yet, in time order;
    how many were; the shipments whose carrier failed or sent an event kind Ordo does not know."""
    stored = {(shipment_id, kind, at) for shipment_id, kind, at in uow.session.execute(
        select(TrackingEvent.shipment_id, TrackingEvent.kind, TrackingEvent.at)
        .where(TrackingEvent.shipment_id.in_([s.id for s in shipments])))} if shipments else set()
    fresh: dict[Shipment, list[TrackingRow]] = {}
    duplicates, failed = 0, []
    for shipment in shipments:
        tracking_number = str(shipment.tracking_number)
        try:
            events = uow.carriers.get(str(shipment.carrier)).tracking(tracking_number)
            rows = [TrackingRow(tracking_number, TrackingKind(e.kind), e.at, e.location, e.note)
                    for e in sorted(events, key=lambda e: e.at)]
        except (CarrierError, ValueError) as exc:  # ValueError: an event kind Ordo does not know
            log.warning("tracking pull: carrier %s for %s: %s", shipment.carrier, shipment.number, exc)
            failed.append(shipment.number)
            continue
        new = [r for r in rows if (shipment.id, str(r.kind), r.at) not in stored]
        duplicates += len(rows) - len(new)
        if new:
            fresh[shipment] = new
    return fresh, duplicates, failed


# --- follow-up tasks ------------------------------------------------------------------------------------


def _open_followup(uow: UnitOfWork, order: Order, shipment: Shipment, *, kind: str, actor: str) -> FollowupTask:
    session, now = uow.session, uow.clock.now()
    task = FollowupTask(kind=kind, order_id=order.id, shipment_id=shipment.id, status="open", created_at=now,
                        due_at=now + uow.policy.time_limits[REFUSAL_CONTACT].limit)
    session.add(task)
    session.flush()
    record(session, at=now, actor=actor, entity="followup", entity_id=task.id, order_id=order.id,
           name="followup.opened", to_state="open",
           data={"kind": kind, "shipment": shipment.number, "due_at": task.due_at.isoformat()})
    return task


def finish_followup(uow: UnitOfWork, *, task_id: int, note: str | None, actor: Actor) -> FollowupTask:
    actor.require(Permission.FOLLOWUP_WORK)
    session, now = uow.session, uow.clock.now()
    task = session.get(FollowupTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound("follow-up task", task_id)
    try:
        load_order(session, session.get_one(Order, task.order_id).number, actor)
    except NotFound:
        raise NotFound("follow-up task", task_id) from None
    if task.status == "done":
        raise Conflict("followup_done_already", ident=str(task_id))
    task.status, task.done_at, task.done_by, task.note = "done", now, actor.name, note
    record(session, at=now, actor=actor.name, entity="followup", entity_id=task.id, order_id=task.order_id,
           name="followup.done", from_state="open", to_state="done", reason=note, data={"kind": task.kind})
    return task
