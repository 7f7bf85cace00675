"""Intake benchmark: the whole hot path (validate, number, persist with lines and events, review,
allocate and reserve) from P processes, against the same writes as bare SQL.

    python bench/intake.py run --orders 2000 --procs 2 [--database-url URL]
    python bench/intake.py oversell --stock 5 --attempts 40 --procs 8 [--database-url URL]
    python bench/intake.py raw --orders 2000 --procs 2 [--database-url URL]
    python bench/intake.py status --orders 500 --procs 1 [--database-url URL]    # hold + release

Each prints one JSON line. Without --database-url a fresh SQLite file is used; with a PostgreSQL
URL a scratch database is created on that server and dropped afterwards.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ordo.adapters.db.engine import make_engine, side_engine
from ordo.adapters.db.migrate import upgrade
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.order import handlers as order_handlers
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.states import HoldReason
from ordo.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True)
SKUS = 50


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A fresh, migrated database for one benchmark run."""
    if not url:
        with tempfile.TemporaryDirectory() as tmp:
            path = f"sqlite:///{Path(tmp) / 'bench.db'}"
            _migrate(path)
            yield path
        return
    parsed = make_url(url)
    name = f"ordo_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = parsed.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(scratch)
        yield scratch
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def seed(url: str, stock: int) -> None:
    ordo = Ordo(Settings(database_url=url))
    with ordo.transaction() as uow:
        s, now = uow.session, uow.clock.now()
        s.add(Shop(code="bench", name="Bench", channel="api", created_at=now))
        s.add(Warehouse(code="WH-B", name="Bench", kind="domestic", country="CN", region="上海", serves=[],
                        capabilities=[], priority=1))
        s.add_all([Sku(code=f"B-{i:03d}", name=f"Bench {i}", category="bench", traits=[], price=Decimal("10.00"))
                   for i in range(SKUS)])
        s.flush()
        warehouse = s.query(Warehouse).one()
        for sku in s.query(Sku).order_by(Sku.id):
            receive(s, warehouse_id=warehouse.id, sku_id=sku.id, quantity=stock, actor="bench", at=now)
    ordo.dispose()


def payload(worker: int, i: int, lines: int = 2) -> dict[str, Any]:
    skus = [(worker * 7 + i + k) % SKUS for k in range(lines)]
    return {
        "shop": "bench", "external_id": f"W{worker}-{i}",
        "customer": {"name": "张伟", "phone": f"138{(worker * 1_000_000 + i) % 100_000_000:08d}"},
        "address": {"country": "CN", "province": "上海市", "city": "上海市", "district": "浦东新区",
                    "street": f"世纪大道{i + 1}号{worker + 1}室", "postcode": "200120"},
        "lines": [{"sku": f"B-{s:03d}", "quantity": 1, "unit_price": "10.00"} for s in skus],
        "total": f"{10 * lines}.00", "currency": "CNY",
        "payment": {"method": "alipay", "status": "paid", "amount_paid": f"{10 * lines}.00"},
        "service_type": "domestic_express",
    }


def _intake_worker(url: str, worker: int, count: int, barrier: Any, out: Any) -> None:
    ordo = Ordo(Settings(database_url=url))
    actor = Actor.system()
    submissions = [OrderSubmission.model_validate(payload(worker, i)) for i in range(count)]
    latencies: list[float] = []
    barrier.wait()
    for submission in submissions:
        started = time.perf_counter()
        intake(ordo, submission=submission, actor=actor)
        latencies.append(time.perf_counter() - started)
    ordo.dispose()
    out.put((latencies, {}))


def _run_procs(target: Any, args_of: Any, procs: int) -> tuple[list[Any], float]:
    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    barrier, out = manager.Barrier(procs + 1), manager.Queue()
    workers = [ctx.Process(target=target, args=(*args_of(w), barrier, out)) for w in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    results = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join()
    manager.shutdown()
    return results, elapsed


@dataclass
class Result:
    orders: int
    elapsed: float
    latencies: list[float]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

        return {
            "orders": self.orders,
            "orders_per_s": round(self.orders / self.elapsed, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3),
        }


def bench_ordo(url: str, orders: int, procs: int) -> Result:
    seed(url, stock=orders * 4)
    per = orders // procs
    results, elapsed = _run_procs(_intake_worker, lambda w: (url, w, per), procs)
    latencies = [lat for lats, _ in results for lat in lats]
    return Result(orders=per * procs, elapsed=elapsed, latencies=latencies)


def _raw_worker(url: str, worker: int, count: int, barrier: Any, out: Any) -> None:
    """Every row an accepted order writes, in bare SQL and as few statements as the rows allow:
    the day's serial, customer, the order row (in its final status), its two lines, three risk keys, two
    conditional stock updates, two ledger rows, the shipment with its two lines and two
    reservations, four events, one notice and four SLA clocks (three stopped, one running) — what
    ``Ordo`` writes for the same order, without deciding anything."""
    engine = make_engine(url)
    latencies: list[float] = []
    barrier.wait()
    t = "2099-01-01"
    # The serial as Ordo takes it on PostgreSQL (``order.numbering``): in a transaction of its own that
    # does not wait for the disk, so that orders do not queue on the day's counter row.
    postgres = engine.dialect.name == "postgresql"
    serials = side_engine(engine).connect() if postgres else None
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT code, id FROM skus")).all())
        warehouse = conn.execute(text("SELECT id FROM warehouses")).scalar_one()
        shop = conn.execute(text("SELECT id FROM shops")).scalar_one()
        conn.commit()
        for i in range(count):
            p = payload(worker, i)
            started = time.perf_counter()
            with conn.begin():
                serial = (serials or conn).execute(text(
                    "INSERT INTO order_number_counters (business_date, last_serial) VALUES ('20990101', 1) "
                    "ON CONFLICT (business_date) DO UPDATE SET last_serial = order_number_counters.last_serial + 1 "
                    "RETURNING last_serial")).scalar_one()
                customer = conn.execute(text(
                    "INSERT INTO customers (name, phone, vip_level, created_at) VALUES ('x', :p, 0, :t) "
                    "ON CONFLICT DO NOTHING RETURNING id"), {"p": p["customer"]["phone"], "t": t}
                ).scalar() or conn.execute(text("SELECT id FROM customers WHERE phone = :p"),
                                           {"p": p["customer"]["phone"]}).scalar_one()
                number = f"2099{worker:04d}{serial}"
                order_id = conn.execute(text(
                    "INSERT INTO orders (number, shop_id, channel, external_id, customer_id, customer_name, phone, "
                    "vip_level, country, province, city, district, street, remote_area, currency, goods_total, "
                    "shipping_fee, discounts, total, payment_method, payment_status, amount_paid, service_type, "
                    "order_class, status, payload_hash, payload, version, placed_at, created_at, updated_at) VALUES "
                    "(:n, :shop, 'api', :e, :c, 'x', :p, 0, 'CN', 'a', 'b', 'c', 'd', false, 'CNY', '20', '0', '0', "
                    "'20', 'alipay', 'paid', '20', 'domestic_express', 'normal', 'allocated', 'h', '{}', 1, "
                    ":t, :t, :t) RETURNING id"),
                    {"n": number, "shop": shop, "e": p["external_id"], "c": customer,
                     "p": p["customer"]["phone"], "t": t}).scalar_one()
                skus = [(no, ids[line["sku"]], line["sku"]) for no, line in enumerate(p["lines"], 1)]
                lines = dict(conn.execute(text(
                    "INSERT INTO order_lines (order_id, line_no, sku_id, sku_code, name, quantity, unit_price, "
                    "amount) VALUES (:o, 1, :s1, :c1, 'x', 1, '10', '10'), (:o, 2, :s2, :c2, 'x', 1, '10', '10') "
                    "RETURNING line_no, id"),
                    {"o": order_id, "s1": skus[0][1], "c1": skus[0][2], "s2": skus[1][1], "c2": skus[1][2]}).all())
                conn.execute(text(
                    "INSERT INTO risk_keys (kind, digest, order_id, at) VALUES ('phone', :d1, :o, :t), "
                    "('address', :d2, :o, :t), ('account', :d3, :o, :t)"),
                    {"o": order_id, "t": t, "d1": f"p{worker}-{i}", "d2": f"a{worker}-{i}", "d3": f"c{worker}-{i}"})
                for _, sku, _ in skus:
                    updated = conn.execute(text(
                        "UPDATE stock SET reserved = reserved + 1 WHERE warehouse_id = :w AND sku_id = :s "
                        "AND on_hand - reserved >= 1"), {"w": warehouse, "s": sku}).rowcount
                    assert updated == 1
                two = {"w": warehouse, "s1": skus[0][1], "s2": skus[1][1], "t": t, "o": order_id}
                conn.execute(text(
                    "INSERT INTO stock_movements (warehouse_id, sku_id, kind, delta_on_hand, delta_reserved, "
                    "actor, created_at) VALUES (:w, :s1, 'reservation', 0, 1, 'raw', :t), "
                    "(:w, :s2, 'reservation', 0, 1, 'raw', :t)"), two)
                shipment = conn.execute(text(
                    "INSERT INTO shipments (number, order_id, warehouse_id, status, version, created_at, updated_at) "
                    "VALUES (:n, :o, :w, 'allocated', 1, :t, :t) RETURNING id"),
                    {"n": f"{number}-1", "o": order_id, "w": warehouse, "t": t}).scalar_one()
                conn.execute(text(
                    "INSERT INTO shipment_lines (shipment_id, order_line_id, sku_id, quantity) "
                    "VALUES (:sh, :l1, :s1, 1), (:sh, :l2, :s2, 1)"),
                    {"sh": shipment, "l1": lines[1], "l2": lines[2], "s1": skus[0][1], "s2": skus[1][1]})
                conn.execute(text(
                    "INSERT INTO reservations (order_id, shipment_id, warehouse_id, sku_id, quantity, status, "
                    "created_at) VALUES (:o, :sh, :w, :s1, 1, 'open', :t), (:o, :sh, :w, :s2, 1, 'open', :t)"),
                    {**two, "sh": shipment})
                conn.execute(text(
                    "INSERT INTO events (order_id, entity, entity_id, name, actor, data, created_at) VALUES "
                    "(:o, 'order', :o, 'order.created', 'raw', '{}', :t), "
                    "(:o, 'order', :o, 'order.confirm', 'raw', '{}', :t), "
                    "(:o, 'shipment', :sh, 'shipment.created', 'raw', '{}', :t), "
                    "(:o, 'order', :o, 'order.allocate', 'raw', '{}', :t)"), {"o": order_id, "sh": shipment, "t": t})
                conn.execute(text(
                    "INSERT INTO outbox (topic, key, order_id, audience, payload, status, attempts, available_at, "
                    "created_at) VALUES ('customer.confirmed', :k, :o, 'customer', '{}', 'pending', 0, :t, :t)"),
                    {"k": f"customer.confirmed:{number}", "o": order_id, "t": t})
                conn.execute(text(
                    "INSERT INTO sla_clocks (step, department, entity, entity_id, order_id, status, calendar, "
                    "limit_seconds, started_at, deadline, paused_seconds, stopped_at, elapsed_seconds, on_time) VALUES "
                    "('auto_review', 'review', 'order', :o, :o, 'stopped', 'natural', 60, :t, :t, 0, :t, 0, true), "
                    "('first_review', 'review', 'order', :o, :o, 'stopped', 'natural', 60, :t, :t, 0, :t, 0, true), "
                    "('manual_review', 'review', 'order', :o, :o, 'stopped', 'natural', 60, :t, :t, 0, :t, 0, true), "
                    "('ship_normal', 'warehouse', 'order', :o, :o, 'open', 'natural', 60, :t, :t, 0, NULL, NULL, "
                    "NULL)"), {"o": order_id, "t": t})
            latencies.append(time.perf_counter() - started)
    if serials is not None:
        serials.close()
    engine.dispose()
    out.put((latencies, {}))


def bench_raw(url: str, orders: int, procs: int) -> Result:
    seed(url, stock=orders * 4)
    per = orders // procs
    results, elapsed = _run_procs(_raw_worker, lambda w: (url, w, per), procs)
    return Result(orders=per * procs, elapsed=elapsed, latencies=[lat for lats, _ in results for lat in lats])


SPEED_LOOP = 3_000_000


def speed_loop_ms() -> float:
    """How long this machine takes now for a fixed pure-Python loop (3 M additions), in ms. Printed
    with the results: this VM's speed drifts by ±40–65 % within minutes and by 3× between days, so
    figures are comparable only when their loops took about as long."""
    started, total = time.perf_counter(), 0
    for i in range(SPEED_LOOP):
        total += i
    return round((time.perf_counter() - started) * 1000, 1)


def _header(url: str, procs: int) -> dict[str, Any]:
    return {
        "database": make_url(url).get_backend_name(), "procs": procs, "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus", "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "speed_loop_ms": speed_loop_ms(),
    }


@app.command()
def run(orders: int = 2000, procs: int = 2, database_url: str | None = None) -> None:
    """Ordo's hot path: orders/s and latency percentiles."""
    with scratch_database(database_url) as url:
        result = bench_ordo(url, orders, procs)
        print(json.dumps({"bench": "intake", **_header(url, procs), **result.summary()}))


@app.command()
def raw(orders: int = 2000, procs: int = 2, database_url: str | None = None, rounds: int = 1) -> None:
    """The bare SQL of the same writes (the physical limit), then Ordo, and Ordo's ratio to it;
    ``rounds`` > 1 alternates the two that many times (a machine whose speed drifts moves both) and
    reports each round and the median ratio."""
    results: list[dict[str, Any]] = []
    for _ in range(rounds):
        with scratch_database(database_url) as url:
            bare = bench_raw(url, orders, procs)
        with scratch_database(database_url) as url:
            ordo = bench_ordo(url, orders, procs)
        results.append({"raw": bare.summary(), "ordo": ordo.summary(),
                        "ratio": round((ordo.orders / ordo.elapsed) / (bare.orders / bare.elapsed), 3)})
    line: dict[str, Any] = {"bench": "intake-vs-raw", **_header(url, procs), **results[0]}
    if rounds > 1:
        line = {"bench": "intake-vs-raw", **_header(url, procs), "rounds": results,
                "ratio": statistics.median(r["ratio"] for r in results)}
    print(json.dumps(line))


def _status_worker(url: str, worker: int, count: int, barrier: Any, out: Any) -> None:
    """Each order of this worker is put on hold and released again: two status changes, each its own
    command and transaction (load, check the transition, hold row, event, clocks paused/resumed)."""
    ordo = Ordo(Settings(database_url=url))
    actor = Actor.system()
    numbers = [intake(ordo, submission=OrderSubmission.model_validate(payload(worker, i)), actor=actor)[0]
               for i in range(count)]
    latencies: list[float] = []
    barrier.wait()
    for number in numbers:
        for change in (order_handlers.hold, order_handlers.release):
            started = time.perf_counter()
            with ordo.transaction() as uow:
                change(uow, number=number, actor=actor, reason=HoldReason.AWAITING_CUSTOMER)
            latencies.append(time.perf_counter() - started)
    ordo.dispose()
    out.put((latencies, {}))


@app.command()
def status(orders: int = 500, procs: int = 1, database_url: str | None = None) -> None:
    """Status changes in the service layer: a hold and its release for each of N orders."""
    with scratch_database(database_url) as url:
        seed(url, stock=orders * 4)
        per = orders // procs
        results, elapsed = _run_procs(_status_worker, lambda w: (url, w, per), procs)
        latencies = [lat for lats, _ in results for lat in lats]
        summary = Result(orders=len(latencies), elapsed=elapsed, latencies=latencies).summary()
        print(json.dumps({"bench": "status-change", **_header(url, procs), "changes": summary.pop("orders"),
                          "changes_per_s": summary.pop("orders_per_s"), **summary}))


def _oversell_worker(url: str, worker: int, count: int, barrier: Any, out: Any) -> None:
    ordo = Ordo(Settings(database_url=url))
    submissions = []
    for i in range(count):
        p = payload(worker, i, lines=1)
        p["lines"] = [{"sku": "B-000", "quantity": 1, "unit_price": "10.00"}]
        p["total"] = p["payment"]["amount_paid"] = "10.00"
        submissions.append(OrderSubmission.model_validate(p))
    barrier.wait()
    for submission in submissions:
        intake(ordo, submission=submission, actor=Actor.system())
    ordo.dispose()
    out.put(([], {}))


@app.command()
def oversell(stock: int = 5, attempts: int = 40, procs: int = 8, database_url: str | None = None) -> None:
    """Many concurrent orders for a few units: how many were allocated, and was anything oversold."""
    with scratch_database(database_url) as url:
        seed(url, stock=stock)
        per = attempts // procs
        _run_procs(_oversell_worker, lambda w: (url, w, per), procs)
        engine = make_engine(url)
        with engine.connect() as conn:
            allocated = conn.execute(text("SELECT count(*) FROM orders WHERE status = 'allocated'")).scalar_one()
            on_hand, reserved = conn.execute(text(
                "SELECT on_hand, reserved FROM stock JOIN skus ON skus.id = stock.sku_id WHERE skus.code = 'B-000'"
            )).one()
        engine.dispose()
        print(json.dumps({
            "bench": "oversell", **_header(url, procs), "stock": stock, "attempts": per * procs,
            "succeeded": allocated, "reserved": reserved, "on_hand": on_hand,
            "oversold": max(0, reserved - on_hand, allocated - stock),
        }))


if __name__ == "__main__":
    sys.exit(app())
