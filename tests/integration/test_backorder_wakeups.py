"""A restock serves the orders waiting for its goods after its own commit, not inside it.

Soak, 2026-12-01: receipts took p95 / p99 of 33 s / 71 s under load. A receipt locked every order
waiting for its SKU, then waited for the SKU's stock rows (held by intakes), and served the queue
before it committed; other receipts of the same goods, and every action on a waiting order, waited
behind it. Now the receipt notes the goods (``backorder_wakeups``, in its own transaction) and the
queue is served in a transaction of its own right after the commit; a note whose serving never ran
(the process died in between) is served by the worker's next round.
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
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, seed, wait_for_lock_waiters

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


def test_a_receipt_commits_while_another_command_holds_a_waiting_order(ordo, database):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no other command holds an order meanwhile")
    number = backordered_tea(ordo)
    held = database.engine.connect()
    held.execute(text("SELECT id FROM orders WHERE number = :n FOR UPDATE"), {"n": number})
    finished = threading.Event()

    def receipt() -> None:
        try:
            receive_tea(ordo)
        finally:
            finished.set()

    thread = threading.Thread(target=receipt)
    thread.start()
    try:
        # The serving after the commit waits for the order; the receipt itself is committed already.
        wait_for_lock_waiters(database.engine, what="the serving after the receipt", unless=finished)
        assert not finished.is_set()
        assert rows(database, "SELECT on_hand, reserved FROM stock") == [(5, 0)]
        assert rows(database, NOTES) == [("TEA-001",)]
    finally:
        held.rollback()
        held.close()
        thread.join(30)

    assert rows(database, STATUS, n=number) == [("allocated",)]
    assert rows(database, NOTES) == []
