"""Intake under concurrency. On PostgreSQL with real processes, each with its own ``Ordo`` and
connection pool (like replicas of ``ordo serve``): numbers stay unique, stock is never oversold and
twin submissions make one order. On both databases with threads: no oversell either."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing import get_context
from multiprocessing.managers import SyncManager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ordo.auth.model import Actor
from ordo.entrypoints.cli import common
from ordo.entrypoints.cli.main import app as cli
from ordo.inventory.handlers import receive
from ordo.order.backorders import serve_woken
from ordo.order.handlers import submit_order
from ordo.order.model import OrderSubmission
from tests.conftest import T0
from tests.factories import BASE_ORDER, order_payload, seed
from tests.integration import _workers

WRITERS = 8
STOCK = 5
ATTEMPTS_PER_WRITER = 5  # 40 attempts for 5 units


@dataclass
class Pool:
    executor: ProcessPoolExecutor
    manager: SyncManager

    def run(self, fn: Any, *args: Any) -> list[Any]:
        """``fn(*args, worker, barrier)`` in every worker process at once; results in worker order."""
        barrier = self.manager.Barrier(WRITERS)
        futures = [self.executor.submit(fn, *args, worker, barrier) for worker in range(WRITERS)]
        wait(futures, timeout=120)  # all of them, so that no straggler still writes when the next test empties
        return [f.result(timeout=0) for f in futures]


@pytest.fixture(scope="module")
def pool(database) -> Iterator[Pool]:
    """Eight warm worker processes ('spawn': nothing inherited from the test process but arguments)."""
    if database.kind != "postgresql":
        pytest.skip("multi-process concurrency runs on PostgreSQL (SQLite serialises writers)")
    context = get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(max_workers=WRITERS, mp_context=context) as executor:
        barrier = manager.Barrier(WRITERS)
        pids = list(executor.map(_workers.warm_up, [barrier] * WRITERS))
        assert len(set(pids)) == WRITERS
        yield Pool(executor, manager)


def rows(database, sql: str) -> list[tuple[Any, ...]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def with_five_teas(ordo) -> None:
    """Reference data with exactly 5 TEA-001, all in WH-SH, the only warehouse serving CN for it."""
    seed(ordo, stock=0)
    with ordo.transaction() as uow:
        ids = dict(rows_of(uow, "SELECT code, id FROM warehouses"))
        sku = dict(rows_of(uow, "SELECT code, id FROM skus"))["TEA-001"]
        receive(uow.session, warehouse_id=ids["WH-SH"], sku_id=sku, quantity=STOCK, actor="test", at=uow.clock.now())


def rows_of(uow, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in uow.session.execute(text(sql))]


def assert_not_oversold(database, outcomes: list[tuple[str, str]]) -> None:
    attempts = WRITERS * ATTEMPTS_PER_WRITER
    assert len(outcomes) == attempts
    assert len({number for number, _ in outcomes}) == attempts
    assert Counter(status for _, status in outcomes) == {"allocated": STOCK, "backordered": attempts - STOCK}
    assert rows(database, "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status") == [
        ("allocated", STOCK), ("backordered", attempts - STOCK)
    ]
    assert rows(database, """
        SELECT w.code, s.on_hand, s.reserved FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
        JOIN skus k ON k.id = s.sku_id WHERE k.code = 'TEA-001'
    """) == [("WH-SH", STOCK, STOCK)]
    assert rows(database, "SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand") == [
        (0,)
    ]
    assert rows(database, "SELECT count(*), sum(quantity) FROM reservations WHERE status = 'open'") == [(STOCK, STOCK)]
    assert rows(database, "SELECT count(*), sum(delta_reserved) FROM stock_movements WHERE kind = 'reservation'") == [
        (STOCK, STOCK)
    ]
    assert rows(database, "SELECT count(*) FROM shipments") == [(STOCK,)]
    assert_ledger_is_verified(database)
    allocated = sorted(number for number, status in outcomes if status == "allocated")
    assert sorted(r[0] for r in rows(database, """
        SELECT o.number FROM reservations r JOIN orders o ON o.id = r.order_id
    """)) == allocated


def assert_ledger_is_verified(database) -> None:
    from ordo.inventory.queries import verify

    with database.engine.connect() as conn, Session(conn) as session:
        assert verify(session) == []


@pytest.mark.postgres_only
def test_order_numbers_are_unique_under_eight_writer_processes(pool, ordo, database):
    seed(ordo)
    per_writer = 25

    numbers = [n for batch in pool.run(_workers.create_orders, database.url, T0, per_writer) for n in batch]

    total = WRITERS * per_writer
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert all(n.startswith("20260315") and len(n) == 11 for n in numbers)
    assert sorted(int(n[8:]) for n in numbers) == list(range(1, total + 1))
    assert sorted(r[0] for r in rows(database, "SELECT number FROM orders")) == sorted(numbers)
    assert rows(database, "SELECT business_date, last_serial FROM order_number_counters") == [("20260315", total)]


@pytest.mark.postgres_only
def test_no_oversell_with_forty_attempts_from_eight_processes(pool, ordo, database):
    with_five_teas(ordo)

    outcomes = [o for batch in pool.run(_workers.reserve_one_each, database.url, T0, ATTEMPTS_PER_WRITER)
                for o in batch]

    assert_not_oversold(database, outcomes)


@pytest.mark.postgres_only
def test_identical_submissions_from_eight_processes_make_one_order(pool, ordo, database):
    seed(ordo)
    payload = order_payload(external_id="TWIN-1")

    results = pool.run(_workers.submit_through_api, database.url, T0, payload)

    number = results[0][0]
    assert [n for n, _ in results] == [number] * WRITERS
    assert sum(created for _, created in results) == 1
    assert rows(database, "SELECT number, external_id, status FROM orders") == [(number, "TWIN-1", "allocated")]
    assert rows(database, "SELECT count(*) FROM events WHERE name = 'order.created'") == [(1,)]
    assert rows(database, "SELECT count(*), sum(quantity) FROM reservations WHERE status = 'open'") == [(1, 2)]
    # Serials are taken in side transactions (policy.intake.gapless_numbers off): each twin that lost
    # the unique race may have taken one before failing — gaps, never a repeat.
    (last_serial,), = rows(database, "SELECT last_serial FROM order_number_counters")
    assert number.startswith("20260315") and 1 <= int(number[8:]) <= last_serial <= WRITERS


@pytest.mark.postgres_only
def test_different_submissions_under_one_external_id_from_eight_processes_make_one_order(pool, ordo, database):
    seed(ordo)

    results = pool.run(_workers.submit_variant, database.url, T0, order_payload(external_id="TWIN-2"))

    assert sorted(r[0] for r in results) == ["conflict"] * (WRITERS - 1) + ["created"]
    (number,), = rows(database, "SELECT number FROM orders")
    assert {r[1:] for r in results if r[0] == "conflict"} == {(number, "remark")}
    winner = next(worker for worker, r in enumerate(results) if r[0] == "created")
    assert rows(database, "SELECT number, remark FROM orders") == [(number, f"variant {winner}")]
    assert rows(database, "SELECT count(*) FROM events WHERE name = 'order.created'") == [(1,)]


def test_no_oversell_with_forty_attempts_from_eight_threads(ordo, database):
    """SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL runs the same threads truly concurrently."""
    with_five_teas(ordo)
    start = threading.Barrier(WRITERS)

    def attempts(worker: int) -> list[tuple[str, str]]:
        submissions = [
            OrderSubmission.model_validate(_workers.one_of_tea(f"T{worker}-{i}")) for i in range(ATTEMPTS_PER_WRITER)
        ]
        start.wait(_workers.BARRIER_TIMEOUT)
        outcomes = []
        for submission in submissions:
            with ordo.transaction() as uow:
                order, _ = submit_order(uow, submission=submission, actor=Actor.system())
                outcomes.append((order.number, order.status))
        return outcomes

    with ThreadPoolExecutor(max_workers=WRITERS) as threads:
        outcomes = [o for batch in threads.map(attempts, range(WRITERS)) for o in batch]

    assert_not_oversold(database, outcomes)


def wait_for_a_lock_waiter(database, timeout: float = 10.0) -> None:
    """Until another session of this database waits on a lock (polling pg_stat_activity, not a clock)."""
    deadline = time.monotonic() + timeout
    sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
           "AND wait_event_type = 'Lock'")
    while rows(database, sql) != [(1,)]:
        assert time.monotonic() < deadline, "the second intake never waited on the first one's lock"
        time.sleep(0.01)


def test_concurrent_first_orders_from_one_phone_share_one_customer(ordo, database):
    if database.kind != "postgresql":
        pytest.skip("SQLite takes the write lock at BEGIN: the second intake sees the first one's customer")
    seed(ordo)
    done: list[tuple[str, str]] = []

    def second_intake() -> None:
        with ordo.transaction() as uow:
            order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(
                external_id="B", customer=BASE_ORDER["customer"], total="44.90",
                lines=[{"sku": "MUG-002", "quantity": 1, "unit_price": "39.90"}],
                payment={"method": "alipay", "status": "paid", "amount_paid": "44.90"})),
                                    actor=Actor.system())
            done.append((order.number, order.status))

    thread = threading.Thread(target=second_intake)
    with ordo.transaction() as uow:
        first, _ = submit_order(uow, submission=OrderSubmission.model_validate(
                order_payload(external_id="A", customer=BASE_ORDER["customer"])),
                                actor=Actor.system())
        thread.start()
        wait_for_a_lock_waiter(database)  # B has looked up the customer and waits for A's order number
    thread.join(30)

    assert (first.number, done) == ("20260315001", [("20260315002", "allocated")])
    assert rows(database, "SELECT phone, count(*) FROM customers GROUP BY phone") == [("+8613812345678", 1)]


def test_cli_create_racing_its_twin_reports_the_existing_order(ordo, database, tmp_path):
    if database.kind != "postgresql":
        pytest.skip("SQLite takes the write lock at BEGIN: the CLI sees the committed twin")
    seed(ordo)
    file = tmp_path / "order.json"
    file.write_text(json.dumps(order_payload(), ensure_ascii=False), encoding="utf-8")
    results = []

    def run_cli() -> None:
        common.ordo.cache_clear()
        try:
            results.append(CliRunner().invoke(
                cli, ["orders", "create", str(file)], env={"ORDO_DATABASE_URL": database.url, "ORDO_LOCALE": "en"},
            ))
        finally:
            common.ordo().dispose()
            common.ordo.cache_clear()

    thread = threading.Thread(target=run_cli)
    with ordo.transaction() as uow:
        first, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload()), actor=Actor.system())
        thread.start()
        wait_for_a_lock_waiter(database)  # the CLI's insert waits on the twin's (shop, external id)
    thread.join(30)

    assert first.number == "20260315001"
    assert rows(database, "SELECT number FROM orders") == [("20260315001",)]
    [result] = results
    assert (result.exit_code, result.stdout) == (0, "already exists: 20260315001 (allocated)\n"), result.exception


@pytest.mark.postgres_only
def test_multi_line_orders_allocated_by_eight_processes_never_deadlock_or_oversell(pool, ordo, database):
    """Orders of three SKUs each, lines in random order, served from two warehouses: allocated
    concurrently (as a restock would), no error reaches anyone and the ledger adds up."""
    import random

    from ordo.inventory.queries import verify

    seed(ordo, stock=0)
    rng = random.Random(7)
    prices = {"TEA-001": Decimal("25.00"), "MUG-002": Decimal("39.90"), "OIL-004": Decimal("59.00")}
    numbers: dict[int, list[str]] = {w: [] for w in range(WRITERS)}
    for i in range(WRITERS * 5):
        skus = rng.sample(sorted(prices), 3)
        lines = [{"sku": s, "quantity": rng.randint(1, 3), "unit_price": str(prices[s])} for s in skus]
        total = str(sum(prices[x["sku"]] * x["quantity"] for x in lines) + Decimal("5.00"))
        with ordo.transaction() as uow:
            order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(
                external_id=f"ML-{i}", lines=lines, total=total,
                payment={"method": "alipay", "status": "paid", "amount_paid": total})), actor=Actor.system())
            assert order.status == "backordered"
            numbers[i % WRITERS].append(order.number)
    with ordo.transaction() as uow:
        ids = dict(uow.session.execute(text("SELECT code, id FROM skus")).all())
        whs = dict(uow.session.execute(text("SELECT code, id FROM warehouses")).all())
        for code in prices:
            for wh, quantity in (("WH-SH", 25), ("WH-BJ", 15)):
                receive(uow.session, warehouse_id=whs[wh], sku_id=ids[code], quantity=quantity, actor="test",
                        at=uow.clock.now())

    outcomes = [o for batch in pool.run(_workers.allocate_each, database.url, T0, numbers) for o in batch]

    assert len(outcomes) == WRITERS * 5
    allocated = {n for n, s in outcomes if s == "allocated"}
    assert allocated and len(allocated) < WRITERS * 5  # stock ran out part-way: a real contest
    assert rows(database, "SELECT count(*) FROM stock WHERE reserved > on_hand OR reserved < 0") == [(0,)]
    with ordo.reading() as uow:
        assert verify(uow.session) == []
    reserved = rows(database, """
        SELECT o.number, sum(r.quantity) FROM reservations r JOIN orders o ON o.id = r.order_id
        WHERE r.status = 'open' GROUP BY o.number""")
    wanted = dict(rows(database, """
        SELECT o.number, sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY o.number"""))
    assert {n for n, _ in reserved} == allocated
    assert all(q == wanted[n] for n, q in reserved)
    needs = {}
    for number, sku, quantity in rows(database, """
            SELECT o.number, l.sku_code, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id"""):
        needs.setdefault(number, Counter())[sku] += quantity
    promised = Counter()
    for number in allocated:
        promised.update(needs[number])
    assert sorted(rows(database, """
        SELECT k.code, w.code, s.on_hand FROM stock s JOIN skus k ON k.id = s.sku_id
        JOIN warehouses w ON w.id = s.warehouse_id WHERE w.code IN ('WH-SH', 'WH-BJ')""")) == sorted(
        (sku, wh, quantity) for sku in prices for wh, quantity in (("WH-SH", 25), ("WH-BJ", 15))
    )
    assert dict(rows(database, """
        SELECT k.code, sum(s.reserved) FROM stock s JOIN skus k ON k.id = s.sku_id
        WHERE k.code IN ('TEA-001', 'MUG-002', 'OIL-004') GROUP BY k.code""")) == {
        sku: promised[sku] for sku in prices
    }
    left = {sku: 40 - promised[sku] for sku in prices}
    # Stock only went down during the run: an order still waiting could not have been served
    # when its turn came, and cannot be from what is left now.
    for number in set(wanted) - allocated:
        assert any(quantity > left[sku] for sku, quantity in needs[number].items()), (number, needs[number], left)


@pytest.mark.postgres_only
def test_one_hot_sku_under_sustained_load_from_eight_processes(pool, ordo, database):
    """200 orders for the one SKU with 100 units, 25 in a row from each of eight processes."""
    seed(ordo)

    outcomes = [o for batch in pool.run(_workers.reserve_one_each, database.url, T0, 25) for o in batch]

    assert Counter(status for _, status in outcomes) == {"allocated": 100, "backordered": 100}
    assert rows(database, """
        SELECT s.on_hand, s.reserved FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
        JOIN skus k ON k.id = s.sku_id WHERE k.code = 'TEA-001' AND w.code = 'WH-SH'""") == [(100, 100)]
    assert rows(database, "SELECT count(*), sum(quantity) FROM reservations WHERE status = 'open'") == [(100, 100)]
    assert rows(database, "SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand") == [
        (0,)
    ]
    assert_ledger_is_verified(database)


def paid_backorders(ordo, rng, count: int, prices: dict[str, Decimal]) -> list[tuple[str, dict[str, int]]]:
    """``count`` paid orders of two or three SKUs each (lines in random order), all backordered
    because nothing is in stock; returns (number, needs per SKU) in the order they came."""
    made = []
    for i in range(count):
        skus = rng.sample(sorted(prices), rng.choice((2, 3)))
        lines = [{"sku": s, "quantity": rng.randint(1, 3), "unit_price": str(prices[s])} for s in skus]
        total = str(sum(prices[x["sku"]] * x["quantity"] for x in lines) + Decimal("5.00"))
        with ordo.transaction() as uow:
            order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(
                external_id=f"BO-{i}", lines=lines, total=total,
                payment={"method": "alipay", "status": "paid", "amount_paid": total})), actor=Actor.system())
            assert order.status == "backordered"
            made.append((order.number, {x["sku"]: x["quantity"] for x in lines}))
    return made


def assert_ledger_and_stock_sound(ordo, database) -> None:
    from ordo.inventory.queries import verify

    assert rows(database, "SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand") == [
        (0,)
    ]
    with ordo.reading() as uow:
        assert verify(uow.session) == []


@pytest.mark.postgres_only
def test_concurrent_receipts_of_different_skus_serve_multi_line_backorders_without_deadlock(pool, ordo, database):
    """Eight processes post 24 receipts of three SKUs into two warehouses while 30 paid backorders
    each wait for two or three of them: receipts of different SKUs lock the same waiting orders.
    No error reaches anyone; the orders served are exactly those the queue rule gives for the
    goods received (in turn, an order is served when every earlier order needing its goods is
    counted first), whatever the interleaving."""
    import random

    seed(ordo, stock=0)
    rng = random.Random(11)
    prices = {"TEA-001": Decimal("25.00"), "MUG-002": Decimal("39.90"), "OIL-004": Decimal("59.00")}
    orders = paid_backorders(ordo, rng, 30, prices)
    receipts = {w: [(rng.choice(("WH-SH", "WH-BJ")), rng.choice(sorted(prices)), rng.randint(1, 4))
                    for _ in range(3)] for w in range(WRITERS)}
    received = Counter()
    for batch in receipts.values():
        for _, sku, quantity in batch:
            received[sku] += quantity
    claimed: Counter[str] = Counter()
    expected = set()
    for number, needs in orders:  # all paid, same VIP level and time: first come first served
        claimed.update(needs)
        if all(claimed[sku] <= received[sku] for sku in needs):
            expected.add(number)

    assert pool.run(_workers.receive_each, database.url, T0, receipts) == [3] * WRITERS
    # A serving passes over goods another serving has and orders another holds, leaving their
    # notes: the worker's rounds serve them.
    for _ in range(10):
        if rows(database, "SELECT count(*) FROM backorder_wakeups") == [(0,)]:
            break
        ordo.run(serve_woken)
    assert rows(database, "SELECT count(*) FROM backorder_wakeups") == [(0,)]

    statuses = dict(rows(database, "SELECT number, status FROM orders"))
    assert {n for n, s in statuses.items() if s == "allocated"} == expected
    assert {n for n, s in statuses.items() if s == "backordered"} == {n for n, _ in orders} - expected
    assert 0 < len(expected) < len(orders)  # a real contest: some served, some still waiting
    reserved = Counter()
    for number, needs in orders:
        if number in expected:
            reserved.update(needs)
    assert sorted(rows(database, """
        SELECT k.code, sum(s.on_hand), sum(s.reserved) FROM stock s JOIN skus k ON k.id = s.sku_id
        GROUP BY k.code""")) == sorted((sku, received[sku], reserved[sku]) for sku in prices)
    per_order = dict(rows(database, """
        SELECT o.number, sum(r.quantity) FROM reservations r JOIN orders o ON o.id = r.order_id
        WHERE r.status = 'open' GROUP BY o.number"""))
    assert per_order == {n: sum(needs.values()) for n, needs in orders if n in expected}
    assert_ledger_and_stock_sound(ordo, database)
