"""Regression: a restock could miss an order that was being backordered at the same moment.

An intake decides to backorder from the stock it read (``order.allocation.allocate_order``: the plan
is short, nothing is reserved). A restock looks for orders waiting for its goods. Nothing made the
two meet:

    intake                                  receipt
    plans against 0 tea -> short
                                            looks for orders waiting for tea: none (the intake
                                            is not committed)
                                            tea +5, commits, serves nobody
    commits the order as backordered

(or the receipt looks first and commits last: the same miss). The order then waited with the tea on
the shelf until the next receipt of tea, possibly for ever. A substitute (the customer takes another
SKU for a backordered line) had the same hole for its new SKU.

Fixed: a restock locks its goods' stock rows — or, where they have none yet, their queue (the SKU's
catalog row, ``order.allocation.lock_queues``) — before it changes the stock and looks for waiting
orders (``order.backorders.wake_backorders``); a decision that leaves an order waiting holds the
same rows, or the queue shared, and reads the stock once more under them. Whichever comes second
sees the other's work: the intake allocates from the receipt's goods, or the receipt finds the
order and notes its goods, served right after its commit (``serve_woken``).

Each case pauses one side right after its read (the intake's or substitute's stock, the receipt's
look for waiting orders) until the other side has committed or waits for a lock, so the
interleaving above is forced, not hoped for. SQLite runs one writer at a time, so the two cannot
interleave there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from ordo.auth.model import Actor
from ordo.inventory.schemas import StockReceiptIn
from ordo.inventory.warehouses import receive_stock
from ordo.order import allocation, backorders, handlers
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.states import HoldReason
from ordo.order.tables import Order
from tests.factories import order_payload, seed, side_by_side, wait_for_lock_waiters

SYSTEM = Actor.system()


def pause_after(monkeypatch, module, name: str, *, until: Callable[[], None]) -> threading.Event:
    """The first call of ``module.name`` returns only once ``until()`` returns; the event returned is
    set when that first call has read what it reads."""
    real, first = getattr(module, name), threading.Event()

    def paused(*args, **kwargs):
        result = real(*args, **kwargs)
        if not first.is_set():
            first.set()
            until()
        return result

    monkeypatch.setattr(module, name, paused)
    return first


def receipt_of(ordo, sku: str, done: threading.Event) -> Callable[[], None]:
    def receipt() -> None:
        try:
            with ordo.transaction() as uow:
                receive_stock(uow, receipt=StockReceiptIn(warehouse="WH-SH", sku=sku, quantity=5,
                                                          reason="purchase order"), actor=SYSTEM)
        finally:
            done.set()
    return receipt


def rows(database, sql: str, **params) -> list[tuple]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def race(database, monkeypatch, *, first: str, command: Callable[[], None], receipt_of_done) -> list[tuple]:
    """Run ``command`` (which reads the stock through ``allocation.plan_order``) beside a receipt,
    the side named ``first`` pausing right after its read until the other one is done or waits."""
    command_done, receipt_done = threading.Event(), threading.Event()
    receipt = receipt_of_done(receipt_done)

    def until(other_done: threading.Event) -> Callable[[], None]:
        return lambda: wait_for_lock_waiters(database.engine, what="the other side", unless=other_done)

    if first == "command reads the stock":
        read = pause_after(monkeypatch, allocation, "plan_order", until=until(receipt_done))
        sides = {"command": command, "receipt": lambda: (read.wait(10), receipt())}
    else:
        read = pause_after(monkeypatch, backorders, "anyone_waiting", until=until(command_done))
        sides = {"command": lambda: (read.wait(10), command()), "receipt": receipt}

    def signalled(body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            finally:
                command_done.set()
        return run

    sides["command"] = signalled(sides["command"])
    return side_by_side(sides)


ORDERINGS = ["command reads the stock", "receipt reads the queue"]


# Whether tea has a stock row somewhere already (an empty one in Los Angeles, which does not serve
# China): the intake then holds it while it decides; else it holds tea's queue.
KNOWN = {"first receipt of tea": 0, "tea known elsewhere": 1}


@pytest.mark.parametrize("known", KNOWN)
@pytest.mark.parametrize("first", ORDERINGS)
def test_an_intake_backordering_beside_a_receipt_of_its_goods_is_served(ordo, database, monkeypatch, first, known):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: an intake and a receipt cannot interleave")
    # Given no tea in China, and nobody waiting for it.
    seed(ordo, stock=0)
    if KNOWN[known]:
        with ordo.transaction() as uow:
            la, tea = (uow.session.execute(text(sql)).scalar_one() for sql in (
                "SELECT id FROM warehouses WHERE code = 'WH-LA'", "SELECT id FROM skus WHERE code = 'TEA-001'"))
            uow.session.execute(text("INSERT INTO stock (warehouse_id, sku_id, on_hand, reserved) "
                                     "VALUES (:w, :s, 0, 0)"), {"w": la, "s": tea})
    placed = {}

    def order() -> None:
        placed["number"], _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(
            external_id="RACE-1")), actor=SYSTEM)

    # When an order of 2 tea comes in while 5 tea are received in Shanghai, their reads interleaved.
    failures = race(database, monkeypatch, first=first, command=order,
                    receipt_of_done=lambda done: receipt_of(ordo, "TEA-001", done))

    # Then the order is not left waiting beside the tea: it is allocated from the receipt's goods —
    # by the intake, which reads the stock again under the locks it waited for; or, when the intake
    # held tea's rows first and committed the order as backordered, by the receipt's serving right
    # after its commit.
    assert failures == []
    number = placed["number"]
    assert rows(database, "SELECT status FROM orders WHERE number = :n", n=number) == [("allocated",)]
    assert rows(database, """
        SELECT w.code, k.code, s.on_hand, s.reserved FROM stock s
        JOIN warehouses w ON w.id = s.warehouse_id JOIN skus k ON k.id = s.sku_id WHERE w.code = 'WH-SH'""") == [
        ("WH-SH", "TEA-001", 5, 2)]
    assert rows(database, """
        SELECT w.code, sh.status FROM shipments sh JOIN warehouses w ON w.id = sh.warehouse_id""") == [
        ("WH-SH", "allocated")]
    served_by_the_intake = first == "receipt reads the queue" or not KNOWN[known]
    assert rows(database, "SELECT name, actor FROM events WHERE entity = 'order' ORDER BY id") == [
        ("order.created", "system"), ("order.confirm", "system"),
        *([] if served_by_the_intake else [("order.backorder", "system")]), ("order.allocate", "system")]
    assert rows(database, "SELECT count(*) FROM outbox WHERE topic = 'order.backordered'") == [
        (0 if served_by_the_intake else 1,)]


@pytest.mark.parametrize("first", ORDERINGS)
def test_a_substitute_beside_a_receipt_of_the_new_goods_is_served(ordo, database, monkeypatch, first):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: a substitute and a receipt cannot interleave")
    # Given an order of 2 oil waiting for it, and no mugs anywhere.
    seed(ordo, stock=0)
    payload = order_payload(external_id="RACE-2", lines=[{"sku": "OIL-004", "quantity": 2, "unit_price": "25.00"}])
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(payload), actor=SYSTEM)
    assert rows(database, "SELECT status FROM orders WHERE number = :n", n=number) == [("backordered",)]

    def substitute() -> None:
        with ordo.transaction() as uow:
            backorders.substitute(uow, number=number, actor=SYSTEM, line_no=1, sku="MUG-002")

    # When the customer takes mugs instead while 5 mugs are received, their reads interleaved.
    failures = race(database, monkeypatch, first=first, command=substitute,
                    receipt_of_done=lambda done: receipt_of(ordo, "MUG-002", done))

    # Then the order is not left waiting beside the mugs: it is allocated 2 of them.
    assert failures == []
    assert rows(database, "SELECT status FROM orders WHERE number = :n", n=number) == [("allocated",)]
    assert rows(database, "SELECT sku_code, quantity FROM order_lines") == [("MUG-002", 2)]
    assert rows(database, """
        SELECT w.code, k.code, s.on_hand, s.reserved FROM stock s
        JOIN warehouses w ON w.id = s.warehouse_id JOIN skus k ON k.id = s.sku_id""") == [
        ("WH-SH", "MUG-002", 5, 2)]
    assert rows(database, "SELECT name FROM events WHERE entity = 'order' ORDER BY id")[-2:] == [
        ("order.substitute",), ("order.allocate",)]


def test_two_intakes_short_of_the_same_goods_do_not_wait_for_each_other(ordo, database, monkeypatch):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to share")
    # Given no tea anywhere; the first intake short of tea has joined its queue and not committed.
    seed(ordo, stock=0)
    second_done, waited = threading.Event(), []

    def until_second_done() -> None:
        wait_for_lock_waiters(database.engine, what="the second intake", unless=second_done)
        if not second_done.is_set():
            waited.append("the second intake waited for the first")

    joined = pause_after(monkeypatch, allocation, "join_queues", until=until_second_done)

    def place(external_id: str) -> Callable[[], None]:
        def body() -> None:
            intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id=external_id)),
                   actor=SYSTEM)
        return body

    def second() -> None:
        joined.wait(10)
        try:
            place("SHORT-2")()
        finally:
            second_done.set()

    # When a second intake short of tea comes in meanwhile.
    failures = side_by_side({"first": place("SHORT-1"), "second": second})

    # Then it joins the same queue without waiting (both hold it shared), and both orders wait.
    assert failures == [] and waited == []
    assert rows(database, "SELECT external_id, status FROM orders ORDER BY external_id") == [
        ("SHORT-1", "backordered"), ("SHORT-2", "backordered")]
    assert rows(database, "SELECT count(*) FROM events WHERE name = 'order.backorder'") == [(2,)]


def test_a_restock_serves_an_order_its_session_had_read_before_another_command_changed_it(ordo, database):
    """Soak, 2026-12-01: a receipt answered 500 (StaleDataError on ``orders``): its session held an
    older copy of a backordered order (read before the restock locked it; a restock that starts over
    reads its queue again after giving its locks back), and serving the order wrote it with that
    copy's version. The locked orders are now read afresh."""
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no other command can change the order meanwhile")
    seed(ordo, stock=0)
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id="STALE-1")),
                       actor=SYSTEM)
    with ordo.transaction() as uow:
        copy = uow.session.scalars(select(Order).where(Order.number == number)).one()
        before = (copy.status, copy.version)
        for change in (handlers.hold, handlers.release):  # another command: back to backordered, versions 3 and 4
            with ordo.transaction() as other:
                change(other, number=number, actor=SYSTEM, reason=HoldReason.AWAITING_CUSTOMER)
        receive_stock(uow, receipt=StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=5,
                                                  reason="purchase order"), actor=SYSTEM)
    assert before == ("backordered", 2)
    assert rows(database, "SELECT status, version FROM orders WHERE number = :n", n=number) == [("allocated", 5)]
