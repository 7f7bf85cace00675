"""No tracking movement (POLICIES.md 003): every carrier scan restarts the ``tracking_stalled`` clock
at the scan's time, and a parcel the carrier keeps scanning never breaches it — on both databases,
through what the worker runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ordo.audit.tables import Event
from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.entrypoints.worker.runner import run_round
from ordo.fulfillment.states import ShipmentTrigger as T
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers as orders
from ordo.order.model import OrderSubmission
from ordo.shipping import handlers as shipping
from ordo.shipping import queries
from ordo.shipping.tables import ShippingRecord, TrackingEvent
from ordo.shipping.tracking import TrackingKind
from ordo.sla.tables import SlaClock
from tests.conftest import T0
from tests.factories import order_payload, prepare_step, seed

SYSTEM = Actor.system()
CARRIER = Actor(name="carrier", roles=frozenset({Role.LOGISTICS}))
H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
STEP = "tracking_stalled"


def shipped(ordo: Ordo, external_id: str = "STALL-1") -> tuple[str, str]:
    """An order walked to ``ship`` at the clock's time; its number and its shipment's."""
    submission = OrderSubmission.model_validate(order_payload(external_id=external_id))
    number, _ = orders.intake(ordo, submission=submission, actor=SYSTEM)
    for trigger in (T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER, T.SHIP):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            orders.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM)
    return number, f"{number}-1"


def scanned(ordo: Ordo, shipment: str, at: datetime, kind: TrackingKind = TrackingKind.IN_TRANSIT) -> None:
    with ordo.transaction() as uow:
        shipping.track(uow, number=shipment, kind=kind, at=at, location="南京", note=None, actor=CARRIER)


def stall_clocks(ordo: Ordo) -> list[tuple]:
    with ordo.reading() as uow:
        return [(c.status, c.started_at, c.deadline, c.elapsed_seconds, c.on_time) for c in uow.session.scalars(
            select(SlaClock).where(SlaClock.step == STEP).order_by(SlaClock.id))]


def stall_alerts(ordo: Ordo) -> list[tuple[str, str, str]]:
    """Every outbox message about the parcel not moving, whatever mechanism queued it."""
    with ordo.reading() as uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(m.topic, m.audience, m.key) for m in rows
                if m.topic == "shipment.stalled" or m.payload.get("step") == STEP]


def events(ordo: Ordo, *names: str) -> list[tuple[str, datetime]]:
    with ordo.reading() as uow:
        return [(e.name, e.created_at) for e in uow.session.scalars(
            select(Event).where(Event.name.in_(names)).order_by(Event.id))]


def flagged(ordo: Ordo, shipment: str) -> bool:
    with ordo.reading() as uow:
        return queries.shipping(uow.session, shipment).stalled


def test_each_newer_carrier_scan_stops_the_clock_and_starts_the_next_at_its_scan_time(ordo, clock):
    seed(ordo)
    _, shipment = shipped(ordo)
    assert stall_clocks(ordo) == [("open", T0, T0 + 24 * H, None, None)]

    clock.advance(6 * H)
    scanned(ordo, shipment, T0 + 5 * H)  # reported an hour late: the clock counts from the scan
    clock.advance(5 * H)
    scanned(ordo, shipment, T0 + 11 * H)
    assert stall_clocks(ordo) == [
        ("stopped", T0, T0 + 24 * H, 5 * 3600, True),
        ("stopped", T0 + 5 * H, T0 + 29 * H, 6 * 3600, True),
        ("open", T0 + 11 * H, T0 + 35 * H, None, None),
    ]

    clock.advance(H)
    scanned(ordo, shipment, T0 + 8 * H)  # an older scan arriving late: stored, but no newer movement
    scanned(ordo, shipment, T0 + 30 * H)  # the carrier's clock runs ahead: the parcel moved by now
    assert stall_clocks(ordo)[2:] == [
        ("stopped", T0 + 11 * H, T0 + 35 * H, 3600, True),
        ("open", T0 + 12 * H, T0 + 36 * H, None, None),
    ]
    assert events(ordo, "shipment.moved") == [
        ("shipment.moved", T0 + 5 * H), ("shipment.moved", T0 + 11 * H), ("shipment.moved", T0 + 12 * H)]
    with ordo.reading() as uow:
        assert uow.session.scalars(select(ShippingRecord.last_movement_at)).one() == T0 + 12 * H
        assert len(uow.session.scalars(select(TrackingEvent)).all()) == 4


def test_a_scan_reported_after_a_later_step_leaves_that_steps_clock_alone(ordo, clock):
    """Out for delivery recorded by staff at +10 h (the step restarts the clock); the carrier's
    scan from +8 h comes in at +11 h: a movement, but older than the clock now running."""
    seed(ordo)
    number, shipment = shipped(ordo)
    clock.advance(10 * H)
    with ordo.transaction() as uow:
        orders.advance_shipments(uow, number=number, trigger=T.OUT_FOR_DELIVERY, actor=SYSTEM)
    clock.advance(H)
    scanned(ordo, shipment, T0 + 8 * H)
    assert stall_clocks(ordo) == [
        ("stopped", T0, T0 + 24 * H, 10 * 3600, True),
        ("open", T0 + 10 * H, T0 + 34 * H, None, None),
    ]
    assert events(ordo, "shipment.moved") == [("shipment.moved", T0 + 8 * H)]


def test_a_parcel_scanned_every_few_hours_never_breaches_and_is_never_flagged(ordo, clock):
    seed(ordo)
    _, shipment = shipped(ordo)
    for hour in range(1, 73):
        clock.advance(H)
        if hour % 7 == 0:
            scanned(ordo, shipment, clock.now())
        run_round(ordo, {})
    scanned(ordo, shipment, clock.now(), TrackingKind.OUT_FOR_DELIVERY)
    clock.advance(2 * H)
    scanned(ordo, shipment, clock.now(), TrackingKind.DELIVERED)
    run_round(ordo, {})

    assert stall_alerts(ordo) == []
    assert events(ordo, "shipment.stalled") == []
    assert flagged(ordo, shipment) is False
    closed = stall_clocks(ordo)
    starts = [T0] + [T0 + h * H for h in range(7, 73, 7)] + [T0 + 72 * H]
    assert [(status, started) for status, started, *_ in closed] == [("stopped", s) for s in starts]
    assert {on_time for *_, on_time in closed} == {True}
