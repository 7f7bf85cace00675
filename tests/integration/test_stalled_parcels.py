"""No tracking movement (POLICIES.md 003): every carrier scan restarts the ``tracking_stalled`` clock
at the scan's time, a parcel the carrier keeps scanning never breaches it, and a parcel that really
stopped is told to logistics once — on both databases, through what the worker runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import delete, select

from ordo.audit.tables import Event
from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.entrypoints.worker.runner import run_round
from ordo.fulfillment.states import ShipmentTrigger as T
from ordo.fulfillment.tables import Shipment
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers as orders
from ordo.order.model import OrderSubmission
from ordo.policy import Policy, TimeLimit
from ordo.settings import Settings
from ordo.shipping import handlers as shipping
from ordo.shipping import queries
from ordo.shipping.tables import ShippingRecord, TrackingEvent
from ordo.shipping.tracking import TrackingKind
from ordo.sla.handlers import scan
from ordo.sla.tables import SlaClock
from tests.conftest import T0
from tests.factories import load_file, order_payload, prepare_step, seed, wait_for_lock_waiters

SYSTEM = Actor.system()
CARRIER = Actor(name="carrier", roles=frozenset({Role.LOGISTICS}))
H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
STEP = "tracking_stalled"
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0016_stalled_by_the_clock.py"


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


def stalled_keys(ordo: Ordo) -> list[str]:
    return [key for topic, _, key in stall_alerts(ordo) if topic == "shipment.stalled"]


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


def test_a_parcel_not_moving_since_it_shipped_raises_one_alert_not_two(ordo, clock):
    """The no-movement clock and the stalled flag are one signal: logistics hears of the stall once
    (``shipment.stalled``), not also as a generic breach of the clock."""
    seed(ordo)
    _, shipment = shipped(ordo)
    clock.advance(24 * H + MINUTE)
    run_round(ordo, {})
    run_round(ordo, {})
    assert stall_alerts(ordo) == [("shipment.stalled", "logistics", f"shipment.stalled:{shipment}:{T0.isoformat()}")]
    assert [name for name, _ in events(ordo, "shipment.stalled")] == ["shipment.stalled"]
    assert stall_clocks(ordo) == [("breached", T0, T0 + 24 * H, None, None)]


def test_a_truly_stalled_parcel_is_told_once_escalated_once_and_no_longer_stalled_once_it_moves(ordo, clock):
    seed(ordo)
    number, shipment = shipped(ordo)
    clock.advance(3 * H)
    scanned(ordo, shipment, T0 + 3 * H)
    since = T0 + 3 * H

    clock.advance(24 * H)  # exactly the limit after the last movement: not yet over it
    run_round(ordo, {})
    assert stall_alerts(ordo) == []
    clock.advance(MINUTE)
    run_round(ordo, {})
    run_round(ordo, {})
    first = ("shipment.stalled", "logistics", f"shipment.stalled:{shipment}:{since.isoformat()}")
    assert stall_alerts(ordo) == [first]
    assert events(ordo, "shipment.stalled") == [("shipment.stalled", T0 + 27 * H + MINUTE)]
    assert flagged(ordo, shipment) is True
    assert stall_clocks(ordo)[-1][:3] == ("breached", since, since + 24 * H)
    with ordo.reading() as uow:
        message = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "shipment.stalled")).one()
        assert message.payload == {"shipment": shipment, "order": number, "carrier": "yto",
                                   "tracking_number": "YTO" + number + "1", "status": "in_transit",
                                   "last_movement_at": since.isoformat(), "limit_hours": 24.0}

    clock.advance(2 * H)  # the breach stays open the further limit: the supervisor hears of it once
    run_round(ordo, {})
    run_round(ordo, {})
    escalated = ("sla.escalated", "supervisor", stall_alerts(ordo)[-1][2])
    assert stall_alerts(ordo) == [first, escalated]
    assert escalated[2].startswith("sla.escalated:")

    moved = clock.now()
    scanned(ordo, shipment, moved)
    assert flagged(ordo, shipment) is False
    assert stall_clocks(ordo)[-2:] == [
        ("stopped", since, since + 24 * H, int((moved - since).total_seconds()), False),
        ("open", moved, moved + 24 * H, None, None),
    ]
    clock.advance(24 * H + MINUTE)
    run_round(ordo, {})
    assert stall_alerts(ordo) == [
        first, escalated, ("shipment.stalled", "logistics", f"shipment.stalled:{shipment}:{moved.isoformat()}")]


def test_the_restarted_deadline_is_on_the_business_calendar(database, clock):
    """Limited in working days, a scan on the Friday before Qingming (4–6 April 2026) is due on the
    Tuesday after it, at the scan's time of day."""
    database.empty()
    limits = dict(Policy().time_limits)
    limits[STEP] = TimeLimit(limit=timedelta(days=1), calendar="working_days", source="003")
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(time_limits=limits))
    seed(ordo)
    clock.advance(datetime(2026, 4, 2, 2, 0, tzinfo=UTC) - T0)  # Thursday 10:00 in Shanghai
    _, shipment = shipped(ordo)
    friday = datetime(2026, 4, 3, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
    clock.advance(friday - clock.now())
    scanned(ordo, shipment, friday)
    assert stall_clocks(ordo) == [
        ("stopped", datetime(2026, 4, 2, 2, 0, tzinfo=UTC), datetime(2026, 4, 3, 2, 0, tzinfo=UTC), 29 * 3600 + 1800,
         False),
        ("open", friday, datetime(2026, 4, 7, 7, 30, tzinfo=UTC), None, None),
    ]
    clock.advance(datetime(2026, 4, 7, 7, 30, tzinfo=UTC) - clock.now())  # through the holiday: not yet late
    run_round(ordo, {})
    assert stall_alerts(ordo) == []
    clock.advance(MINUTE)
    run_round(ordo, {})
    assert stalled_keys(ordo) == [f"shipment.stalled:{shipment}:{friday.isoformat()}"]


def test_a_shipment_shipped_before_tracking_records_existed_is_watched_from_its_first_scan(ordo, clock):
    """Two kinds of old shipments: one without a shipping record (no last movement), and one that
    no no-movement clock watches at all (shipped before the rule). Neither is alerted on a guessed
    start; a stored carrier scan is their first known movement and the clock runs from it."""
    seed(ordo)
    _, recordless = shipped(ordo, "OLD-1")
    _, unwatched = shipped(ordo, "OLD-2")
    with ordo.transaction() as uow:
        ids = {n: i for n, i in uow.session.execute(select(Shipment.number, Shipment.id))}
        uow.session.execute(delete(ShippingRecord))
        uow.session.execute(delete(SlaClock).where(SlaClock.step == STEP, SlaClock.entity_id == ids[unwatched]))

    clock.advance(5 * H)
    scanned(ordo, recordless, T0 + 5 * H)
    clock.advance(43 * H)
    run_round(ordo, {})
    assert stalled_keys(ordo) == [f"shipment.stalled:{recordless}:{(T0 + 5 * H).isoformat()}"]
    scanned(ordo, unwatched, T0 + 48 * H)
    with ordo.reading() as uow:
        watched = uow.session.scalars(select(SlaClock).where(SlaClock.step == STEP,
                                                             SlaClock.entity_id == ids[unwatched])).one()
        assert (watched.status, watched.started_at, watched.deadline) == ("open", T0 + 48 * H, T0 + 72 * H)
        assert uow.session.get_one(ShippingRecord, ids[recordless]).last_movement_at == T0 + 5 * H
    clock.advance(24 * H + MINUTE)
    run_round(ordo, {})
    assert stalled_keys(ordo)[1:] == [f"shipment.stalled:{unwatched}:{(T0 + 48 * H).isoformat()}"]


def _migration() -> ModuleType:
    return load_file(MIGRATION, "migration_0016")


def test_the_upgrade_restarts_in_flight_clocks_from_their_last_scan(ordo, clock, database):
    """What migration 0016 does to parcels in transit: before it a scan only set the last movement."""
    seed(ordo)
    numbers = [shipped(ordo, f"MIG-{i}")[1] for i in range(1, 4)]
    scanned_since, breached, moved_by_a_step = numbers
    with ordo.transaction() as uow:
        ids = {n: i for n, i in uow.session.execute(select(Shipment.number, Shipment.id))}
        rec = {n: uow.session.get_one(ShippingRecord, ids[n]) for n in numbers}
        clocks = {n: uow.session.scalars(select(SlaClock).where(SlaClock.step == STEP,
                                                                SlaClock.entity_id == ids[n])).one() for n in numbers}
        rec[scanned_since].last_movement_at = T0 + 10 * H  # scanned; the clock kept running from the ship step
        rec[breached].last_movement_at = T0 + 5 * H
        clocks[breached].status, clocks[breached].breached_at = "breached", T0 + 24 * H
        rec[moved_by_a_step].last_movement_at = T0 + 5 * H
        clocks[moved_by_a_step].started_at, clocks[moved_by_a_step].deadline = T0 + 6 * H, T0 + 30 * H
    with database.engine.begin() as conn:
        _migration().restart_in_flight(conn)

    def state(n: str) -> tuple:
        with ordo.reading() as uow:
            c = uow.session.scalars(select(SlaClock).where(SlaClock.step == STEP, SlaClock.entity_id == ids[n])).one()
            return c.status, c.started_at, c.deadline

    assert [state(n) for n in numbers] == [
        ("unscheduled", T0 + 10 * H, None),
        ("breached", T0, T0 + 24 * H),
        ("open", T0 + 6 * H, T0 + 30 * H),
    ]
    clock.advance(29 * H)
    run_round(ordo, {})  # the scan places the restarted clock on the calendar
    assert state(scanned_since) == ("open", T0 + 10 * H, T0 + 34 * H)
    assert stalled_keys(ordo) == []  # the breached clock was told before; the step's is not due yet
    clock.advance(5 * H + MINUTE)
    run_round(ordo, {})
    assert stalled_keys(ordo) == [f"shipment.stalled:{moved_by_a_step}:{(T0 + 6 * H).isoformat()}",
                                  f"shipment.stalled:{scanned_since}:{(T0 + 10 * H).isoformat()}"]


@pytest.mark.postgres_only
def test_a_scan_arriving_while_the_breach_scan_holds_the_clock_waits_for_it_and_restarts_the_clock(
        ordo, clock, database):
    """The breach scan locks the clocks it marks until it commits; the tracking command that
    restarts one waits for it. The observer that alerts takes no lock of its own, so the two never
    wait for each other in a cycle (a deadlock would abort one of them)."""
    if database.kind != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    seed(ordo)
    _, shipment = shipped(ordo)
    clock.advance(24 * H + MINUTE)
    breached, errors = threading.Event(), []

    def breach_scan() -> None:
        try:
            with ordo.transaction() as uow:
                assert len(scan(uow).breached) == 1
                breached.set()
                wait_for_lock_waiters(database.engine, what="the tracking command")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            breached.set()

    scanner = threading.Thread(target=breach_scan)
    scanner.start()
    assert breached.wait(10)
    scanned(ordo, shipment, clock.now())
    scanner.join(10)
    assert errors == []
    now = clock.now()
    assert stall_clocks(ordo) == [("stopped", T0, T0 + 24 * H, 24 * 3600 + 60, False),
                                  ("open", now, now + 24 * H, None, None)]
    assert stall_alerts(ordo) == [("shipment.stalled", "logistics", f"shipment.stalled:{shipment}:{T0.isoformat()}")]
    assert flagged(ordo, shipment) is False
