"""Two background scans find their orders through a row that hangs off the order, and took that row
before the order row — the other way round from every order command, which locks the order row
first (``load_order(..., for_update=True)``) and then writes its children.

- The SLA breach scan locks the late clocks (``FOR UPDATE SKIP LOCKED``), marks them breached and,
  for the ship steps, records ``order.delayed``: the event's foreign key to ``orders`` takes a KEY
  SHARE lock on the order row, which waits for a command's FOR UPDATE — while the command (a hold
  pausing the ship clock, a cancel or a ship closing it) waits for the clock row the scan holds.
  The stalled-parcel breach did the same with ``shipment.stalled`` (found later: a carrier scan
  on the order stops that clock).
- The silent-customer scan took the waiting contact (conditional UPDATE) and then locked the order
  FOR UPDATE — while an answer, holding the order, waits to mark that contact answered.

Each waited for the other and PostgreSQL aborted one of them ("deadlock detected" while updating
the clock, resp. the contact, in the command). Fixed: both scans take those orders in id order with
SKIP LOCKED (``order.lifecycle.lock_orders_not_busy``) before they write anything that touches them,
and leave a busy order for their next round; a scan never waits for an order command.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from ordo.auth.model import Actor
from ordo.fulfillment.states import ShipmentTrigger
from ordo.order.handlers import advance_shipments, intake
from ordo.order.model import OrderSubmission
from ordo.review import handlers as review
from ordo.sla.handlers import scan
from tests.factories import handed_over, order_payload, seed, side_by_side

SYSTEM = Actor.system()
COD = {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}


def place(ordo, external_id: str, **changes) -> tuple[str, int]:
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id=external_id,
                                                                                      **changes)), actor=SYSTEM)
    with ordo.reading() as uow:
        return number, uow.session.execute(text("SELECT id FROM orders WHERE number = :n"), {"n": number}).scalar_one()


def beside_a_command(database, *, order_id: int, command_writes: str, params: dict, run_scan) -> list[tuple]:
    """A command holds the order row (as every order command does, FOR UPDATE) while the scan runs,
    then writes a row hanging off the order. Returns what failed (nothing, if neither waits in a cycle)."""
    order_locked, scanned, failures = threading.Event(), threading.Event(), []

    def command() -> None:
        with database.engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT id FROM orders WHERE id = :o FOR UPDATE"), {"o": order_id})
            order_locked.set()
            if not scanned.wait(10):
                failures.append(("scan", "waits for the order row", ""))
            conn.execute(text(command_writes), {"o": order_id, **params})

    def scanner() -> None:
        order_locked.wait(10)
        try:
            run_scan()
        finally:
            scanned.set()

    return side_by_side({"command": command, "scan": scanner}, failures)


def test_the_breach_scan_beside_a_command_on_a_late_order_does_not_deadlock(ordo, database, clock):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    seed(ordo)
    # Given two orders past their ship deadline (24 h); a hold is being placed on the first.
    _, busy_id = place(ordo, "LATE-1")
    _, free_id = place(ordo, "LATE-2")
    clock.advance(timedelta(hours=25))
    with database.engine.connect() as conn:
        ship_clocks = dict(conn.execute(text(
            "SELECT order_id, id FROM sla_clocks WHERE step = 'ship_normal' AND status = 'open'")).all())
    assert sorted(ship_clocks) == [busy_id, free_id]
    results = {}

    def run_scan() -> None:
        with ordo.transaction() as uow:
            results["scan"] = scan(uow)

    # When the scan runs while the hold holds the order and then pauses its ship clock.
    failures = beside_a_command(
        database, order_id=busy_id, run_scan=run_scan, params={"at": clock.now()},
        command_writes="UPDATE sla_clocks SET status = 'paused', paused_at = :at "
                       "WHERE order_id = :o AND status = 'open'")

    # Then neither waits for the other: the busy order is left alone, the other one is breached.
    assert failures == []
    assert results["scan"].breached == [ship_clocks[free_id]]
    with database.engine.connect() as conn:
        assert dict(conn.execute(text("SELECT order_id, status FROM sla_clocks WHERE step = 'ship_normal'")).all()) == {
            busy_id: "paused", free_id: "breached"}
        assert conn.execute(text("SELECT order_id FROM events WHERE name = 'order.delayed'")).scalars().all() == [
            free_id]
        assert sorted(conn.execute(text(
            "SELECT topic, order_id FROM outbox WHERE topic IN ('sla.breached', 'customer.delayed')"
        )).all()) == [("customer.delayed", free_id), ("customer.delayed", free_id), ("sla.breached", free_id)]
    with ordo.transaction() as uow:
        assert scan(uow).breached == []  # a paused clock is never late


def test_the_silent_customer_scan_beside_an_answer_does_not_deadlock(ordo, database, clock):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    seed(ordo)
    # Given two cash-on-delivery orders in review whose customers were called and have not answered
    # for 2 hours; the first one's customer is answering right now.
    answering, answering_id = place(ordo, "SILENT-1", payment=COD,
                                    customer={"name": "张伟", "phone": "13800138001"})
    silent, silent_id = place(ordo, "SILENT-2", payment=COD,
                              customer={"name": "李娜", "phone": "13900139002"})
    for number in (answering, silent):
        with ordo.transaction() as uow:
            review.contact(uow, number=number, actor=SYSTEM, channel="phone")
    clock.advance(timedelta(hours=2))
    results = {}

    def run_scan() -> None:
        with ordo.transaction() as uow:
            results["held"] = review.scan_silent(uow)

    # When the scan runs while the answer holds the order and then marks its contact answered.
    failures = beside_a_command(
        database, order_id=answering_id, run_scan=run_scan, params={"at": clock.now()},
        command_writes="UPDATE review_contacts SET state = 'answered', answered_at = :at, answered_by = 'cs' "
                       "WHERE order_id = :o AND state = 'waiting'")

    # Then neither waits for the other: the answered order is not held, the silent one is.
    assert failures == []
    assert results["held"] == [silent]
    with database.engine.connect() as conn:
        assert dict(conn.execute(text("SELECT order_id, state FROM review_contacts")).all()) == {
            answering_id: "answered", silent_id: "held"}
        assert dict(conn.execute(text("SELECT id, status FROM orders")).all()) == {
            answering_id: "pending_review", silent_id: "on_hold"}
        assert conn.execute(text("SELECT order_id, reason FROM order_holds")).all() == [
            (silent_id, "awaiting_customer")]
    with ordo.transaction() as uow:
        assert review.scan_silent(uow) == []


def test_the_breach_scan_telling_a_stalled_parcel_beside_a_command_on_its_order_does_not_deadlock(
        ordo, database, clock):
    """The stalled-parcel breach records ``shipment.stalled`` (its domain tells logistics), whose
    foreign key to ``orders`` waited for the order row while the scan held the clock — and a
    command on the order (a carrier scan stopping that clock) waited for the clock."""
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    seed(ordo)
    # Given two shipped parcels with no movement for 25 hours; a command holds the first one's order.
    stalled = {}
    for external_id in ("STALL-1", "STALL-2"):
        number = handed_over(ordo, external_id)
        with ordo.transaction() as uow:
            advance_shipments(uow, number=number, trigger=ShipmentTrigger.SHIP, actor=SYSTEM)
        with database.engine.connect() as conn:
            stalled[number] = conn.execute(text(
                "SELECT c.order_id, c.id FROM sla_clocks c JOIN orders o ON o.id = c.order_id "
                "WHERE o.number = :n AND c.step = 'tracking_stalled' AND c.status = 'open'"), {"n": number}).one()
    (busy_id, busy_clock), (free_id, free_clock) = stalled.values()
    clock.advance(timedelta(hours=25))
    results = {}

    def run_scan() -> None:
        with ordo.transaction() as uow:
            results["scan"] = scan(uow)

    # When the scan runs while the command holds the order and then stops its parcel's clock.
    failures = beside_a_command(
        database, order_id=busy_id, run_scan=run_scan, params={"at": clock.now(), "c": busy_clock},
        command_writes="UPDATE sla_clocks SET status = 'stopped', stopped_at = :at WHERE id = :c")

    # Then neither waits for the other: the busy order's parcel is left for the next round.
    assert failures == []
    assert [c for c in results["scan"].breached if c in (busy_clock, free_clock)] == [free_clock]
    with database.engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, status FROM sla_clocks WHERE step = 'tracking_stalled'")).all()) == {
            busy_clock: "stopped", free_clock: "breached"}
        assert conn.execute(text("SELECT order_id FROM events WHERE name = 'shipment.stalled'")).scalars().all() == [
            free_id]
