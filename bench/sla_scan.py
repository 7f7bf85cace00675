"""SLA breach-scan benchmark: N open clocks (of N / 4 orders) of which K are overdue; how long the scan takes.

    python bench/sla_scan.py [--clocks 1000000] [--overdue 1000] [--overdue-kind ship|picking] [--database-url URL]

Rows are built with one bulk INSERT … SELECT (a recursive CTE on SQLite, generate_series on
PostgreSQL). The scan marks the K overdue ship limits breached, queues K alerts to the warehouse
and tells K customers their order is delayed (event + e-mail + SMS); a second scan finds nothing.
Prints one JSON line. Without --database-url a fresh SQLite file is used; with a PostgreSQL URL a
scratch database is created there and dropped afterwards.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from intake import scratch_database

from ordo.bootstrap import Ordo
from ordo.channel.tables import Shop
from ordo.customer.tables import Customer
from ordo.kernel.clock import FixedClock
from ordo.settings import Settings
from ordo.sla.handlers import scan

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
CLOCKS_PER_ORDER = 4
COLUMNS = ("step, department, entity, entity_id, order_id, status, calendar, limit_seconds, started_at, deadline, "
           "paused_seconds")
ORDER_COLUMNS = ("number, shop_id, channel, external_id, customer_id, customer_name, phone, email, vip_level, "
                 "country, province, city, district, street, remote_area, currency, goods_total, shipping_fee, "
                 "discounts, total, "
                 "payment_method, payment_status, amount_paid, service_type, order_class, status, payload_hash, "
                 "payload, version, placed_at, created_at, updated_at")

# Realistic rows: N / 4 orders, each with four open clocks — its ship limit (every fifth order a
# promotion), picking and tracking upload of its shipment, and its manual review. The K overdue
# clocks are ship limits of K different orders, so each breach also tells the customer the order
# is delayed (an order.delayed event, an e-mail and an SMS in the outbox).
SQLITE_ORDERS = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO orders ({ORDER_COLUMNS})
SELECT '20260315' || printf('%07d', i), 1, 'web', 'B-' || i, 1, '张伟', '+86138' || printf('%08d', i),
       'buyer' || i || '@example.cn', 0, 'CN', '上海市', '上海市', '浦东新区', '世纪大道' || i || '号', 0, 'CNY',
       50, 10, 5, 55, 'alipay', 'paid', 55, 'domestic_express',
       CASE WHEN i % 5 = 0 THEN 'promotion' ELSE 'normal' END, 'allocated', 'x', '{{}}', 1,
       datetime('2026-03-15 02:00:00'), datetime('2026-03-15 02:00:00'), datetime('2026-03-15 02:00:00')
FROM n
"""

POSTGRES_ORDERS = f"""
INSERT INTO orders ({ORDER_COLUMNS})
SELECT '20260315' || lpad(i::text, 7, '0'), 1, 'web', 'B-' || i, 1, '张伟', '+86138' || lpad(i::text, 8, '0'),
       'buyer' || i || '@example.cn', 0, 'CN', '上海市', '上海市', '浦东新区', '世纪大道' || i || '号', false, 'CNY',
       50, 10, 5, 55, 'alipay', 'paid', 55, 'domestic_express',
       CASE WHEN i % 5 = 0 THEN 'promotion' ELSE 'normal' END, 'allocated', 'x', '{{}}', 1,
       timestamptz '2026-03-15 02:00:00+00', timestamptz '2026-03-15 02:00:00+00', timestamptz '2026-03-15 02:00:00+00'
FROM generate_series(1, :orders) AS i
"""

# Clock i belongs to order (i - 1) / 4 + 1; its kind is i % 4 (1: ship limit, 2: picking,
# 3: tracking upload, 0: manual review). Overdue: the ship limits of the first K orders.
_STEP = """CASE i % 4 WHEN 1 THEN (CASE WHEN ((i - 1) / 4 + 1) % 5 = 0 THEN 'ship_promotion' ELSE 'ship_normal' END)
                WHEN 2 THEN 'picking' WHEN 3 THEN 'tracking_upload' ELSE 'manual_review' END"""
_DEPARTMENT = ("CASE i % 4 WHEN 1 THEN 'warehouse' WHEN 2 THEN 'warehouse' WHEN 3 THEN 'logistics' "
               "ELSE 'customer_service' END")
_ENTITY = "CASE WHEN i % 4 IN (2, 3) THEN 'shipment' ELSE 'order' END"
_OVERDUE = "i % 4 = :kind AND i <= 4 * :overdue"

SQLITE = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :clocks)
INSERT INTO sla_clocks ({COLUMNS})
SELECT {_STEP}, {_DEPARTMENT}, {_ENTITY}, (i - 1) / 4 + 1, (i - 1) / 4 + 1, 'open', 'elapsed', 86400,
       datetime('2026-03-15 02:00:00'),
       CASE WHEN {_OVERDUE} THEN datetime('2026-03-16 02:00:00', '-' || i || ' seconds')
            ELSE datetime('2026-03-16 02:00:00', '+' || (i % 86400 + 1) || ' seconds') END,
       0
FROM n
"""

POSTGRES = f"""
INSERT INTO sla_clocks ({COLUMNS})
SELECT {_STEP}, {_DEPARTMENT}, {_ENTITY}, (i - 1) / 4 + 1, (i - 1) / 4 + 1, 'open', 'elapsed', 86400,
       timestamptz '2026-03-15 02:00:00+00',
       CASE WHEN {_OVERDUE} THEN timestamptz '2026-03-16 02:00:00+00' - make_interval(secs => i)
            ELSE timestamptz '2026-03-16 02:00:00+00' + make_interval(secs => i % 86400 + 1) END,
       0
FROM generate_series(1, :clocks) AS i
"""


def _reference(ordo: Ordo) -> None:
    with ordo.transaction() as uow:
        uow.session.add(Shop(code="web-cn", name="官网商城", channel="web", created_at=NOW))
        uow.session.add(Customer(name="张伟", phone="+8613800000000", email="zhang.wei@example.cn", created_at=NOW))


# Which clocks are the overdue ones: ship limits (each breach also tells the customer: the worst
# case) or picking clocks (the warehouse is alerted, the customer is not).
KINDS = {"ship": 1, "picking": 2}


def main(clocks: int = 1_000_000, overdue: int = 1000, database_url: str = typer.Option(None),
         overdue_kind: str = typer.Option("ship", help="ship (customers told) or picking")) -> None:
    if overdue_kind not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--overdue-kind")
    with scratch_database(database_url) as url:
        ordo = Ordo(Settings(database_url=url), clock=FixedClock(NOW))
        kind = ordo.engine.dialect.name
        started = time.perf_counter()
        _reference(ordo)
        orders = -(-clocks // CLOCKS_PER_ORDER)
        with ordo.engine.begin() as conn:
            pg = kind == "postgresql"
            conn.execute(text(POSTGRES_ORDERS if pg else SQLITE_ORDERS), {"orders": orders})
            conn.execute(text(POSTGRES if pg else SQLITE), {"clocks": clocks, "overdue": overdue,
                                                                "kind": KINDS[overdue_kind]})
            conn.execute(text("ANALYZE orders" if pg else "ANALYZE"))
            if pg:
                conn.execute(text("ANALYZE sla_clocks"))
        build = time.perf_counter() - started
        started = time.perf_counter()
        breached = 0
        while True:  # the scan takes a batch (policy.sla.scan_batch) per transaction
            with ordo.transaction() as uow:
                found = len(scan(uow).breached)
            breached += found
            if found == 0:
                break
        first = time.perf_counter() - started
        started = time.perf_counter()
        with ordo.transaction() as uow:
            again = len(scan(uow).breached)
        second = time.perf_counter() - started
        with ordo.engine.connect() as conn:
            alerts = conn.execute(text("SELECT count(*) FROM outbox WHERE topic = 'sla.breached'")).scalar_one()
            delayed = conn.execute(text("SELECT count(*) FROM outbox WHERE topic = 'customer.delayed'")).scalar_one()
            events = conn.execute(text("SELECT count(*) FROM events WHERE name = 'order.delayed'")).scalar_one()
            explain = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
            plan = conn.execute(text(
                f"{explain}SELECT id FROM sla_clocks WHERE status = 'open' AND deadline < :now ORDER BY deadline "
                "LIMIT 500"), {"now": NOW if kind == "postgresql" else "2026-03-16 02:00:00.000000"}).all()
        ordo.dispose()
    print(json.dumps({
        "benchmark": "sla_scan", "database": kind, "clocks": clocks, "orders": orders, "overdue": overdue,
        "overdue_kind": overdue_kind,
        "build_s": round(build, 2), "scan_s": round(first, 3), "breached": breached, "alerts": alerts,
        "delayed_notices": delayed, "delayed_events": events,
        "rescan_s": round(second, 4), "rescan_breached": again,
        "plan": " | ".join(str(row[-1]) for row in plan), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    typer.run(main)
