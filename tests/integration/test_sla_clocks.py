"""The default clock rules driven through the real handlers on both databases: review and contact,
cross-border and overseas preparation, export declaration, customs, last mile, no tracking
movement — and every shipment clock ends when the shipment does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from ordo.audit.log import record
from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.fulfillment import handlers as shipments
from ordo.fulfillment.states import ShipmentTrigger as T
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Warehouse
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order
from ordo.policy import IntakePolicy, Policy, TimeLimit
from ordo.review import handlers as review
from ordo.settings import Settings
from ordo.shipping.crossborder.handlers import record_leg
from ordo.shipping.crossborder.schemas import LegActionIn
from ordo.sla.handlers import scan
from ordo.sla.tables import SlaClock
from tests.factories import order_payload, prepare_step, seed

SYSTEM = Actor.system()
LOGISTICS = Actor(name="logistics", roles=frozenset({Role.LOGISTICS}))
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
LIMITS = Policy().time_limits

ABROAD = {"country": "US", "province": "CA", "city": "Los Angeles", "district": "", "street": "1 Main St",
          "postcode": "90001"}


def seed_abroad(ordo: Ordo) -> None:
    """The reference data, with the Shanghai warehouse exporting to the US (tea made in China, as
    the export declaration says)."""
    seed(ordo)
    with ordo.transaction() as uow:
        uow.session.scalars(select(Warehouse).where(Warehouse.code == "WH-SH")).one().serves = ["US"]
        uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one().origin_country = "CN"


def place(ordo: Ordo, **changes) -> str:
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload(**changes)), actor=SYSTEM)
    return number


def abroad(ordo: Ordo, service_type: str, external_id: str) -> str:
    customer = {"name": "Jane Doe", "phone": "+8613812345678", "email": f"{external_id.lower()}@example.com"}
    return place(ordo, external_id=external_id, address=ABROAD, customer=customer, service_type=service_type,
                 order_class="cross_border",
                 shipping_fee="60.00", total="105.00", payment={"method": "card", "status": "paid",
                                                                 "amount_paid": "105.00"})


def advance(ordo: Ordo, number: str, *triggers: T, **kw) -> None:
    """Order actions, each after what the warehouse must have done for its guards (scans, packing
    record); neither moves the clock."""
    for trigger in triggers:
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM, **kw)


def leg(ordo: Ordo, number: str, name: str, **body) -> None:
    """A cross-border leg recorded by logistics (the real leg handler: it fires the step the leg
    stands for through the order, so its clocks and notices follow)."""
    with ordo.transaction() as uow:
        record_leg(uow, shipment=f"{number}-1", leg=name, body=LegActionIn(**body), actor=LOGISTICS)


def fire(ordo: Ordo, number: str, *triggers: T) -> None:
    """Ends the carrier reports (intercepted, lost): through the shipment primitive and its guards."""
    for trigger in triggers:
        with ordo.transaction() as uow:
            order = uow.session.scalars(select(Order).where(Order.number == number)).one()
            for s in uow.session.scalars(select(Shipment).where(Shipment.order_id == order.id)):
                shipments.fire(uow.session, s, trigger, actor="carrier", at=uow.clock.now())


def clocks(ordo: Ordo, number: str) -> dict[str, list[tuple]]:
    with ordo.reading() as uow:
        order_id = uow.session.scalar(select(Order.id).where(Order.number == number))
        rows = uow.session.scalars(select(SlaClock).where(SlaClock.order_id == order_id).order_by(SlaClock.id)).all()
        found: dict[str, list[tuple]] = {}
        for c in rows:
            found.setdefault(c.step, []).append((c.status, c.started_at, c.deadline, c.on_time))
        return found


def notices(ordo: Ordo, number: str) -> list[str]:
    with ordo.reading() as uow:
        return [m.key for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic.like("customer.%")).order_by(OutboxMessage.id))
            if m.payload.get("order") == number and m.payload["channel"] == "email"]


def test_air_freight_walks_preparation_declaration_customs_and_last_mile_clocks(ordo, clock):
    seed_abroad(ordo)
    number = abroad(ordo, "intl_air", "AIR-1")
    assert clocks(ordo, number)["warehouse_preparation_cross_border"] == [
        ("open", T0, T0 + LIMITS["warehouse_preparation_cross_border"].limit, None)]
    clock.advance(2 * H)
    advance(ordo, number, T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK)
    clock.advance(3 * H)
    advance(ordo, number, T.HAND_OVER)
    handed = T0 + 5 * H
    clock.advance(H / 2)
    advance(ordo, number, T.SHIP, carrier="DHL Express", tracking_number="DHL1")
    clock.advance(10 * H)
    leg(ordo, number, "export_booking", action="book", reference="BK-1", carrier="Kuehne+Nagel",
        requested_date=date(2026, 3, 16))
    clock.advance(10 * H)
    leg(ordo, number, "export_declaration", action="declare", reference="EXP-1")
    declared = handed + H / 2 + 20 * H
    clock.advance(2 * H)
    leg(ordo, number, "international_transport", action="depart", reference="CA987")
    clock.advance(2 * H)
    leg(ordo, number, "arrival", action="arrive")
    entered = declared + 4 * H
    clock.advance(50 * H)
    leg(ordo, number, "customs_clearance", action="clear", reference="CBP-1")
    cleared = entered + 50 * H
    clock.advance(10 * H)
    leg(ordo, number, "last_mile", action="hand_over", carrier="USPS", tracking_number="9400100000000000000001")
    advance(ordo, number, T.DELIVER)
    done = clocks(ordo, number)
    assert done["warehouse_preparation_cross_border"] == [("stopped", T0, T0 + 24 * H, True)]
    assert done["outbound_scan"] == [("stopped", T0 + 2 * H, T0 + 8 * H, True)]
    assert done["handover_after_pack"] == [("stopped", T0 + 2 * H, T0 + 4 * H, False)]
    assert done["booking_and_declaration"] == [("stopped", handed, handed + 24 * H, True)]
    assert done["customs_clearance"] == [("stopped", entered, entered + 48 * H, False)]
    assert done["last_mile_start"] == [("stopped", cleared, cleared + 24 * H, True)]
    # No-movement clock: restarted by each movement (the departure too), closed by the delivery;
    # the 50 h in customs are late.
    stalled = done["tracking_stalled"]
    assert [(s, start) for s, start, *_ in stalled] == [
        ("stopped", handed + H / 2), ("stopped", declared), ("stopped", declared + 2 * H), ("stopped", entered),
        ("stopped", cleared), ("stopped", cleared + 10 * H)]
    assert [on_time for *_, on_time in stalled] == [True, True, True, False, True, True]
    assert "overseas" not in " ".join(done)  # a home warehouse: not the overseas preparation
    assert notices(ordo, number) == [f"notice:{t}:{number}{s}:email" for t, s in (
        ("confirmed", ""), ("shipped", "-1"), ("customs_cleared", "-1"), ("out_for_delivery", "-1"),
        ("delivered", "-1"))]


def test_a_declaration_never_made_is_not_a_breach_once_the_parcel_is_delivered(database, clock):
    """The false breach of the audit: air freight handed over and delivered without an export
    declaration event left the declaration clock running. With the default legs delivery waits for
    customs (the cross-border guards); an operator whose forwarder declares outside Ordo configures
    intl_air without legs, and there the delivery must end the declaration clock."""
    database.empty()
    service_types = dict(IntakePolicy().service_types)
    service_types["intl_air"] = service_types["intl_air"].model_copy(update={"legs": ()})
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(intake=IntakePolicy(service_types=service_types)))
    seed_abroad(ordo)
    number = abroad(ordo, "intl_air", "AIR-2")
    advance(ordo, number, T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER)
    advance(ordo, number, T.SHIP, carrier="DHL Express", tracking_number="DHL2")
    clock.advance(2 * H)
    advance(ordo, number, T.DELIVER)
    assert clocks(ordo, number)["booking_and_declaration"][0][0] == "cancelled"
    clock.advance(23 * H)  # past the declaration's deadline (T0 + 24 h), before completion's (T0 + 26 h)
    with ordo.transaction() as uow:
        assert scan(uow).breached == []
    running = {s for s, rows in clocks(ordo, number).items() if rows[-1][0] in ("open", "breached")}
    assert running == {"complete_after_delivery"}


@pytest.mark.parametrize(("steps", "end", "ended"), [
    ((T.START_PICK,), T.CANCEL, {"picking", "warehouse_preparation_cross_border"}),
    ((T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER), T.INTERCEPT,
     {"tracking_upload", "booking_and_declaration"}),
    ((T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER, T.SHIP), T.LOSE,
     {"booking_and_declaration", "tracking_stalled"}),
], ids=["cancel", "intercept", "lose"])
def test_every_running_shipment_clock_is_cancelled_when_the_shipment_ends(ordo, clock, steps, end, ended):
    seed_abroad(ordo)
    number = abroad(ordo, "intl_sea", f"SEA-{end}")
    kw = {"carrier": "COSCO", "tracking_number": "C1"}
    for trigger in steps:
        advance(ordo, number, trigger, **(kw if trigger == T.SHIP else {}))
    fire(ordo, number, end)
    shipment_clocks = {s: rows[-1][0] for s, rows in clocks(ordo, number).items()
                       if s not in ("ship_normal", "auto_review", "manual_review", "first_review")}
    assert {s for s, status in shipment_clocks.items() if status == "cancelled"} == ended
    assert "open" not in shipment_clocks.values()


def test_overseas_warehouse_prepares_within_its_own_limit(ordo, clock):
    seed_abroad(ordo)
    number = abroad(ordo, "overseas_warehouse", "OVS-1")  # a special service: two review levels
    clock.advance(H)
    with ordo.transaction() as uow:
        review.approve(uow, number=number, actor=Actor(name="cs", roles=frozenset({Role.CUSTOMER_SERVICE})))
    clock.advance(H)
    with ordo.transaction() as uow:
        review.approve(uow, number=number, actor=Actor(name="head", roles=frozenset({Role.REVIEWER})))
    assert clocks(ordo, number)["second_review"] == [("stopped", T0 + H, T0 + 5 * H, True)]
    ready = T0 + 2 * H  # allocated when approved
    assert clocks(ordo, number)["warehouse_preparation_overseas"] == [("open", ready, ready + 12 * H, None)]
    assert "warehouse_preparation_cross_border" not in clocks(ordo, number)
    clock.advance(13 * H)
    advance(ordo, number, T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER)
    assert clocks(ordo, number)["warehouse_preparation_overseas"] == [("stopped", ready, ready + 12 * H, False)]


def test_review_queue_contact_and_silent_customer_clocks(ordo, clock):
    seed(ordo)
    number = place(ordo, external_id="COD-1",
                   payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    first = clocks(ordo, number)
    assert first["contact_customer"] == [("open", T0, T0 + H, None)]
    assert first["review_waiting_alert"] == [("open", T0, T0 + 2 * H, None)]
    clock.advance(H / 2)
    with ordo.transaction() as uow:
        review.contact(uow, number=number, actor=SYSTEM, channel="phone")
    contacted = T0 + H / 2
    clock.advance(2 * H)
    with ordo.transaction() as uow:
        assert review.scan_silent(uow) == [number]
    after = clocks(ordo, number)
    assert after["contact_customer"] == [("stopped", T0, T0 + H, True)]
    assert after["customer_silent_hold"] == [("stopped", contacted, contacted + 2 * H, True)]
    with ordo.transaction() as uow:
        review.answer(uow, number=number, actor=SYSTEM, note="ok")
    done = clocks(ordo, number)
    assert done["review_waiting_alert"] == [("stopped", T0, T0 + 2 * H, False)]
    assert done["customer_silent_hold"] == after["customer_silent_hold"]  # never started twice


def test_a_working_day_limit_counts_on_the_official_calendar(database, clock):
    """An admin sets the ship limit in working days: placed Friday 2026-02-13, 3 working days are
    Saturday 14th (adjusted working day), then 24th and 25th after the Spring Festival."""
    database.empty()
    limits = dict(LIMITS)
    limits["ship_normal"] = TimeLimit(limit=timedelta(days=3), calendar="working_days")
    friday = datetime(2026, 2, 13, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
    clock.advance(friday - clock.now())
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(time_limits=limits))
    seed(ordo)
    number = place(ordo)
    assert clocks(ordo, number)["ship_normal"] == [("open", friday, datetime(2026, 2, 25, 3, 30, tzinfo=UTC), None)]


def test_an_event_reads_the_clocks_as_the_command_left_them_before_they_are_written(ordo, clock):
    """Events recorded one after the other with no query between: the clock the first one started
    (not written yet) is stopped by the second, and a pause not written yet is resumed."""
    seed(ordo)
    number = place(ordo, external_id="COD-2",
                   payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    clock.advance(H / 2)
    contacted = T0 + H / 2

    def events(*names: tuple[str, str | None]) -> None:
        with ordo.transaction() as uow:
            order = uow.session.scalars(select(Order).where(Order.number == number)).one()
            for name, to_state in names:
                record(uow.session, at=uow.clock.now(), actor="cs", entity="order", entity_id=order.id,
                       order_id=order.id, name=name, to_state=to_state)

    events(("review.contacted", None), ("order.hold_added", None))  # starts customer_silent_hold, stops it
    first = clocks(ordo, number)
    assert first["contact_customer"] == [("stopped", T0, T0 + H, True)]
    assert first["customer_silent_hold"] == [("stopped", contacted, contacted + 2 * H, True)]
    assert [status for status, *_ in first["manual_review"]] == ["open"]
    events(("order.hold", "on_hold"))
    clock.advance(H)
    events(("order.released", "pending_review"), ("order.hold", "on_hold"), ("order.released", "pending_review"))
    after = clocks(ordo, number)
    assert [status for status, *_ in after["manual_review"]] == ["open"]
    assert after["manual_review"][0][2] == first["manual_review"][0][2] + H  # an hour paused, an hour more
    assert after["customer_silent_hold"] == first["customer_silent_hold"]  # not started again
