"""The steps a carrier's scan makes take the scan's time, not the time Ordo processes it — and so do
the SLA clocks those steps start and stop (``shipping.tracking.step_time``), whichever way the scan
arrives (the tracking API, a CSV file, the pull from the carrier's adapter). A scan dated after its
receipt is taken at the receipt (marked ``future`` beyond the tolerance); one older than the
shipment's last step is applied at that step's time (marked ``out_of_order``), never before it.
Both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ordo.adapters.carriers.base import CarrierEvent, FakeCarrier
from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.fulfillment.states import ShipmentTrigger as T
from ordo.inventory.tables import StockMovement
from ordo.order import handlers as orders
from ordo.shipping import handlers as shipping
from ordo.shipping import queries
from ordo.shipping.tables import ShippingRecord, TrackingEvent
from ordo.shipping.tracking import TrackingKind
from ordo.sla.tables import SlaClock
from tests.conftest import T0
from tests.factories import handed_over as walk_to_hand_over
from tests.factories import with_carriers

SYSTEM = Actor.system()
H, MINUTE = timedelta(hours=1), timedelta(minutes=1)


@pytest.fixture
def fake() -> FakeCarrier:
    return FakeCarrier(code="yto")


@pytest.fixture
def app(database, clock, fake) -> Ordo:
    return with_carriers(database, clock, {"yto": fake})


def handed_over(app: Ordo) -> tuple[str, str]:
    """An order walked to hand-over now (booked with the fake YTO: FAKE000001); its number and shipment."""
    number = walk_to_hand_over(app, "SCAN-1")
    return number, f"{number}-1"


def scanned(app: Ordo, shipment: str, kind: TrackingKind, at: datetime | None, *, way: str = "api",
            fake: FakeCarrier | None = None) -> None:
    with app.transaction() as uow:
        if way == "api":
            shipping.track(uow, number=shipment, kind=kind, at=at, location="上海", note=None, actor=SYSTEM)
        elif way == "csv":
            assert at is not None
            shipping.import_csv(uow, text=f"tracking_number,event,at\nFAKE000001,{kind},{at.isoformat()}\n",
                                actor=SYSTEM)
        else:
            assert fake is not None and at is not None
            fake.events["FAKE000001"] = [CarrierEvent("FAKE000001", str(kind), at)]
            assert shipping.pull_tracking(uow).failed == []


def events(app: Ordo, *names: str) -> list[tuple[str, datetime, dict]]:
    with app.reading() as uow:
        return [(e.name, e.created_at, e.data) for e in uow.session.scalars(
            select(Event).where(Event.name.in_(names)).order_by(Event.id))]


def clocks(app: Ordo, *steps: str) -> list[tuple]:
    with app.reading() as uow:
        return [(c.step, c.status, c.started_at, c.stopped_at, c.elapsed_seconds) for c in uow.session.scalars(
            select(SlaClock).where(SlaClock.step.in_(steps)).order_by(SlaClock.id))]


@pytest.mark.parametrize("way", ["api", "csv", "pull"])
def test_a_scan_reported_late_ships_the_parcel_at_the_scan_s_time_and_its_clocks_follow(app, clock, fake, way):
    # Given a parcel handed over at T0 (its tracking-upload clock running from then).
    _, shipment = handed_over(app)
    # When the carrier's pick-up scan of T0 + 2 h reaches Ordo at T0 + 5 h.
    clock.advance(5 * H)
    scanned(app, shipment, TrackingKind.IN_TRANSIT, T0 + 2 * H, way=way, fake=fake)

    # Then the shipment and the order shipped at T0 + 2 h, unadjusted ...
    assert events(app, "shipment.ship", "order.ship") == [
        ("shipment.ship", T0 + 2 * H, {"shipment": shipment, "carrier": "yto", "tracking_number": "FAKE000001"}),
        ("order.ship", T0 + 2 * H, {}),
    ]
    # ... the clocks stopped and started by the ship step count from then ...
    assert clocks(app, "ship_normal", "tracking_upload", "tracking_stalled") == [
        ("ship_normal", "stopped", T0, T0 + 2 * H, 2 * 3600),
        ("tracking_upload", "stopped", T0, T0 + 2 * H, 2 * 3600),
        ("tracking_stalled", "open", T0 + 2 * H, None, None),
    ]
    with app.reading() as uow:
        assert uow.session.scalars(select(ShippingRecord.last_movement_at)).all() == [T0 + 2 * H]
        stored = uow.session.scalars(select(TrackingEvent)).one()
        assert (stored.at, stored.received_at, stored.adjusted) == (T0 + 2 * H, T0 + 5 * H, None)
        # ... and the stock ledger says when the books changed.
        assert uow.session.scalars(select(StockMovement.created_at).where(StockMovement.kind == "shipment")).all() == [
            T0 + 5 * H]


@pytest.mark.parametrize(("ahead", "adjusted"), [(15 * MINUTE, None), (16 * MINUTE, "future")],
                         ids=["within-tolerance", "beyond-tolerance"])
def test_a_scan_dated_after_its_receipt_is_taken_at_the_receipt(app, clock, ahead, adjusted):
    _, shipment = handed_over(app)
    clock.advance(H)

    scanned(app, shipment, TrackingKind.IN_TRANSIT, clock.now() + ahead)

    marked = {"scanned_at": (T0 + H + ahead).isoformat(), "adjusted": adjusted} if adjusted else {}
    assert events(app, "shipment.ship", "order.ship") == [
        ("shipment.ship", T0 + H, {"shipment": shipment, "carrier": "yto", "tracking_number": "FAKE000001", **marked}),
        ("order.ship", T0 + H, {}),
    ]
    assert clocks(app, "tracking_stalled") == [("tracking_stalled", "open", T0 + H, None, None)]
    with app.reading() as uow:
        read = queries.shipping(uow.session, shipment)
    assert [(e.kind, e.at, e.adjusted) for e in read.events] == [("in_transit", T0 + H + ahead, adjusted)]


def test_a_scan_without_a_time_is_taken_at_its_receipt(app, clock):
    _, shipment = handed_over(app)
    clock.advance(H)

    scanned(app, shipment, TrackingKind.IN_TRANSIT, None)

    assert [(name, at) for name, at, _ in events(app, "shipment.ship")] == [("shipment.ship", T0 + H)]
    with app.reading() as uow:
        assert [(e.at, e.adjusted) for e in queries.shipping(uow.session, shipment).events] == [(T0 + H, None)]


def test_a_scan_older_than_the_last_step_is_applied_at_that_step_s_time_not_before_it(app, clock):
    # Given a parcel shipped by the carrier's scan at T0 + 1 h and sent out for delivery by staff at T0 + 10 h.
    number, shipment = handed_over(app)
    clock.advance(H)
    scanned(app, shipment, TrackingKind.IN_TRANSIT, T0 + H)
    clock.advance(9 * H)
    with app.transaction() as uow:
        orders.advance_shipments(uow, number=number, trigger=T.OUT_FOR_DELIVERY, actor=SYSTEM)
    # When the carrier's delivery scan of T0 + 9 h arrives at T0 + 11 h.
    clock.advance(H)
    scanned(app, shipment, TrackingKind.DELIVERED, T0 + 9 * H)

    # Then it is delivered at T0 + 10 h, after the step before it, marked out of order.
    assert [(name, at, data.get("adjusted")) for name, at, data in events(
        app, "shipment.ship", "shipment.out_for_delivery", "shipment.deliver", "order.deliver")] == [
        ("shipment.ship", T0 + H, None), ("shipment.out_for_delivery", T0 + 10 * H, None),
        ("shipment.deliver", T0 + 10 * H, "out_of_order"), ("order.deliver", T0 + 10 * H, None)]
    assert events(app, "shipment.deliver")[0][2] == {"shipment": shipment, "scanned_at": (T0 + 9 * H).isoformat(),
                                                     "adjusted": "out_of_order"}
    # The no-movement clock the last step started is stopped by the delivery, not left before its start.
    assert clocks(app, "tracking_stalled", "complete_after_delivery") == [
        ("tracking_stalled", "stopped", T0 + H, T0 + 10 * H, 9 * 3600),
        ("tracking_stalled", "stopped", T0 + 10 * H, T0 + 10 * H, 0),
        ("complete_after_delivery", "open", T0 + 10 * H, None, None),
    ]
    with app.reading() as uow:
        assert [(e.kind, e.at, e.adjusted) for e in queries.shipping(uow.session, shipment).events] == [
            ("in_transit", T0 + H, None), ("delivered", T0 + 9 * H, "out_of_order")]
