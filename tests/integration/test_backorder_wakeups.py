"""A restock serves the orders waiting for its goods after its own commit, not inside it.

Soak, 2026-12-01: receipts took p95 / p99 of 33 s / 71 s under load. A receipt locked every order
waiting for its SKU, then waited for the SKU's stock rows (held by intakes), and served the queue
before it committed; other receipts of the same goods, and every action on a waiting order, waited
behind it. Now the receipt notes the goods (``backorder_wakeups``, in its own transaction) and the
queue is served in a transaction of its own right after the commit, which waits for no order and no
other serving; a note whose serving never ran (the process died in between) or passed something
over is served by the worker's next round.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from ordo.auth.model import Actor
from ordo.bootstrap import UnitOfWork
from ordo.entrypoints.worker.runner import run_round
from ordo.inventory.schemas import StockReceiptIn
from ordo.inventory.warehouses import receive_stock
from ordo.order import backorders
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, seed

SYSTEM = Actor.system()


def rows(database, sql: str, **params) -> list[tuple]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def backordered_tea(ordo) -> str:
    """An order of 2 tea, with no tea anywhere: it waits."""
    seed(ordo, stock=0)
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id="WAIT-1")),
                       actor=SYSTEM)
    return number


def receive_tea(ordo, quantity: int = 5) -> None:
    with ordo.transaction() as uow:
        receive_stock(uow, receipt=StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=quantity,
                                                  reason="purchase order"), actor=SYSTEM)


STATUS = "SELECT status FROM orders WHERE number = :n"
NOTES = "SELECT k.code FROM backorder_wakeups b JOIN skus k ON k.id = b.sku_id ORDER BY b.id"


def test_a_receipt_serves_the_waiting_order_right_after_its_commit_and_leaves_no_note(ordo, database):
    number = backordered_tea(ordo)
    assert rows(database, STATUS, n=number) == [("backordered",)]

    receive_tea(ordo)

    assert rows(database, STATUS, n=number) == [("allocated",)]
    assert rows(database, NOTES) == []
    assert rows(database, "SELECT name FROM events WHERE entity = 'order' ORDER BY id")[-2:] == [
        ("order.backorder",), ("order.allocate",)]


def test_a_receipt_nobody_waits_for_notes_nothing(ordo, database):
    seed(ordo, stock=0)

    receive_tea(ordo)

    assert rows(database, NOTES) == []
    assert rows(database, "SELECT on_hand, reserved FROM stock") == [(5, 0)]


def test_goods_noted_whose_serving_never_ran_are_served_by_the_worker(ordo, database, monkeypatch):
    number = backordered_tea(ordo)
    # As if the process died right after the receipt's commit: the step after it never runs.
    monkeypatch.setattr(UnitOfWork, "after_commit", lambda self, step: None)

    receive_tea(ordo)

    assert rows(database, STATUS, n=number) == [("backordered",)]
    assert rows(database, NOTES) == [("TEA-001",)]
    monkeypatch.undo()

    done = run_round(ordo, {})

    assert done.served == 1
    assert rows(database, STATUS, n=number) == [("allocated",)]
    assert rows(database, NOTES) == []
    assert rows(database, "SELECT on_hand, reserved FROM stock") == [(5, 2)]


HOLD_THE_ORDER = "SELECT id FROM orders WHERE number = :n FOR UPDATE"
SERVE_TEA = "SELECT pg_advisory_xact_lock(:ns, (SELECT id FROM skus WHERE code = 'TEA-001'))"
SERVE_SOMETHING = "SELECT pg_advisory_xact_lock(:slots, 0)"  # the one place (inventory.servings_at_once)


@pytest.mark.parametrize("held", [HOLD_THE_ORDER, SERVE_TEA, SERVE_SOMETHING], ids=[
    "an action holds the order", "another serving holds tea's queue", "another serving runs"])
def test_a_restock_beside_a_command_holding_the_queue_waits_for_nothing_and_the_worker_serves(ordo, database, held):
    """Before, the receipt locked the waiting orders and so waited for any command holding one (and
    every receipt of the same goods for it). Now the serving after the commit passes over an order
    another command holds, goods another serving has, and everything while as many servings run as
    the policy allows (one), without waiting; the note stays for the worker's next round."""
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no other command holds anything meanwhile")
    number = backordered_tea(ordo)
    other = database.engine.connect()
    other.execute(text(held), {"n": number, "ns": backorders._SERVING_LOCKS, "slots": backorders._SERVING_SLOTS})
    receipt = threading.Thread(target=receive_tea, args=(ordo,))
    try:
        receipt.start()
        receipt.join(30)
        assert not receipt.is_alive(), "the receipt (or its serving) waited for the other command"

        assert rows(database, STATUS, n=number) == [("backordered",)]
        assert rows(database, "SELECT on_hand, reserved FROM stock") == [(5, 0)]
        assert rows(database, NOTES) == [("TEA-001",)]
    finally:
        other.rollback()
        other.close()
        receipt.join(30)

    assert run_round(ordo, {}).served == 1
    assert rows(database, STATUS, n=number) == [("allocated",)]
    assert rows(database, NOTES) == []
