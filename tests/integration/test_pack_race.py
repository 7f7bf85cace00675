"""Regression, found by bench/soak.py (a 500 on POST /shipments/{number}/pack, ``StaleDataError: UPDATE
statement on table 'shipments' expected to update 1 row(s); 0 were matched``): two packers
packing the same shipment at once.

``shipping.handlers.load_shipment`` reads the shipment *before* it locks the order row. The packer
who gets the lock second still holds the shipment as it was before the first one packed it (status
``checked``, the old version): the ``status != CHECKED`` check passes on the stale row, and the
version column then fails the UPDATE — a 500 instead of the 409 (``packing_not_now``) the API
documents. Any route that uses ``load_shipment(..., for_update=True)`` read that way.

Fixed: ``load_shipment`` re-reads the shipment once the order is locked, and ``load_order`` reads
a locked order afresh.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from ordo.auth.model import Actor
from ordo.fulfillment.states import ShipmentTrigger as T
from ordo.fulfillment.tables import Shipment
from ordo.order import handlers
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.shipping import handlers as shipping
from ordo.shipping.steps import ParcelIn, plan_for
from tests.factories import order_payload, prepare_step, seed, wait_for_lock_waiters

SYSTEM = Actor.system()


def test_two_packers_at_once_one_packs_and_the_other_is_refused(ordo, database):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the second packer reads after the first committed")
    seed(ordo)
    # Given a checked shipment.
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id="PACK-1")),
                       actor=SYSTEM)
    for trigger in (T.START_PICK, T.FINISH_PICK, T.CHECK):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM)
    shipment = f"{number}-1"
    with ordo.reading() as uow:
        row = uow.session.scalars(select(Shipment).where(Shipment.number == shipment)).one()
        assert row.status == "checked"
        instructions = list(plan_for(uow.session, row, uow.policy).instructions)

    outcomes: list[str] = []
    gate = threading.Event()

    def packer() -> None:
        gate.wait(10)
        try:
            with ordo.transaction() as uow:
                shipping.pack(uow, number=shipment, confirmed=instructions, parcels=[ParcelIn(800, 200, 150, 100)],
                              temperature_logger_id=None, actor=SYSTEM)
            outcomes.append("packed")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    # When both packers have read the shipment and wait for the order (held by a third command) …
    with database.engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT id FROM orders WHERE number = :n FOR UPDATE"), {"n": number})
        threads = [threading.Thread(target=packer) for _ in range(2)]
        for t in threads:
            t.start()
        gate.set()
        wait_for_lock_waiters(database.engine, at_least=2, what="the packers")
    for t in threads:
        t.join(30)

    # … then one packs and the other is told the shipment is not waiting to be packed (409).
    assert sorted(outcomes) == ["Conflict", "packed"]
