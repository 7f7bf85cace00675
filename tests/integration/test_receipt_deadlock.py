"""Regression, found by bench/soak.py (a 500 on POST /stock/receipts during the crash run on PostgreSQL; the
database's log: "deadlock detected" between two ``UPDATE stock SET reserved = …``): a receipt that
serves several backorders, beside an intake that reserves the same goods.

Reservations take stock rows in one global order — warehouse id, then SKU id — so that two
allocations never wait on each other in a cycle. One allocation keeps it (``try_reserve`` sorts its
SKUs), but a receipt serves every waiting backorder in one transaction (``restocking`` →
``serve_backorders`` → ``allocate_order`` for each): the rows it reserved for the first backorder
stay locked while it reserves those of the next, which may come earlier in the order. An intake
reserving the same two SKUs in the global order holds the earlier one and waits for the later one:
each waited for the other, and PostgreSQL aborted one of them.

Fixed: the restock observer locks every stock row the queue may take, in the global order, before
the receipt changes stock (``order.backorders.hold_backorders`` → ``inventory.handlers.lock_stock``).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from ordo.auth.model import Actor
from ordo.inventory.handlers import receive
from ordo.inventory.schemas import StockReceiptIn
from ordo.inventory.warehouses import receive_stock
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, seed, side_by_side, wait_for_lock_waiters

SYSTEM = Actor.system()


def place(ordo, external_id: str, lines: list[tuple[str, int, str]]) -> tuple[str, str]:
    total = str(sum(Decimal(p) * q for _, q, p in lines) + Decimal("5.00"))
    body = order_payload(external_id=external_id, total=total,
                         lines=[{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
                         payment={"method": "alipay", "status": "paid", "amount_paid": total})
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(body), actor=SYSTEM)
    with ordo.reading() as uow:
        status = uow.session.execute(text("SELECT status FROM orders WHERE number = :n"), {"n": number}).scalar_one()
    return number, status


def test_a_receipt_serving_two_backorders_and_an_intake_of_the_same_goods_do_not_deadlock(ordo, database):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    # Given mugs and oil in Shanghai, no tea, and two orders waiting for tea: first one with oil,
    # then one with a mug (MUG-002 comes before OIL-004 in the global order).
    seed(ordo, stock=0)
    with ordo.transaction() as uow:
        s = uow.session
        ids = dict(s.execute(text("SELECT code, id FROM skus")).all())
        shanghai = s.execute(text("SELECT id FROM warehouses WHERE code = 'WH-SH'")).scalar_one()
        for code in ("MUG-002", "OIL-004"):
            receive(s, warehouse_id=shanghai, sku_id=ids[code], quantity=100, actor="test", at=uow.clock.now())
    assert ids["MUG-002"] < ids["OIL-004"]
    first = place(ordo, "WAITS-1", [("TEA-001", 1, "25.00"), ("OIL-004", 1, "59.00")])
    second = place(ordo, "WAITS-2", [("TEA-001", 1, "25.00"), ("MUG-002", 1, "39.90")])
    assert [first[1], second[1]] == ["backordered", "backordered"]

    mug_taken = threading.Event()

    def reserve(conn, sku: str) -> None:  # what try_reserve does for one line
        conn.execute(text("UPDATE stock SET reserved = reserved + 1 WHERE warehouse_id = :w AND sku_id = :s "
                          "AND on_hand - reserved >= 1"), {"w": shanghai, "s": ids[sku]})

    def another_intake() -> None:
        """An intake of a mug and oil, reserving in the global order: the mug, then the oil."""
        with database.engine.connect() as conn, conn.begin():
            reserve(conn, "MUG-002")
            mug_taken.set()
            # The receipt has served the first order and waits for the mug.
            wait_for_lock_waiters(database.engine, what="the receipt")
            reserve(conn, "OIL-004")

    def receipt() -> None:
        mug_taken.wait(10)
        with ordo.transaction() as uow:
            receive_stock(uow, receipt=StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=5,
                                                      reason="purchase order"), actor=SYSTEM)

    failures = side_by_side({"intake": another_intake, "receipt": receipt})

    # Then one waits for the other and both go through; both waiting orders are served.
    assert failures == []
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM orders WHERE number IN (:a, :b)"),
                            {"a": first[0], "b": second[0]}).scalars().all() == ["allocated", "allocated"]
