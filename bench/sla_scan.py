"""SLA breach-scan benchmark: N open clocks of which K are overdue; how long the scan takes.

    python bench/sla_scan.py [--clocks 1000000] [--overdue 1000] [--database-url URL]

Rows are built with one bulk INSERT … SELECT (a recursive CTE on SQLite, generate_series on
PostgreSQL). The scan marks the K overdue clocks breached and queues K supervisor alerts; a second
scan finds nothing. Prints one JSON line. Without --database-url a fresh SQLite file is used; with
a PostgreSQL URL a scratch database is created there and dropped afterwards.
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
from ordo.kernel.clock import FixedClock
from ordo.settings import Settings
from ordo.sla.handlers import scan

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
COLUMNS = ("step, department, entity, entity_id, order_id, status, calendar, limit_seconds, started_at, deadline, "
           "paused_seconds")

SQLITE = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :clocks)
INSERT INTO sla_clocks ({COLUMNS})
SELECT 'picking', 'warehouse', 'shipment', i, NULL, 'open', 'elapsed', 14400,
       datetime('2026-03-15 02:00:00'),
       CASE WHEN i <= :overdue THEN datetime('2026-03-16 02:00:00', '-' || i || ' seconds')
            ELSE datetime('2026-03-16 02:00:00', '+' || (i % 86400 + 1) || ' seconds') END,
       0
FROM n
"""

POSTGRES = f"""
INSERT INTO sla_clocks ({COLUMNS})
SELECT 'picking', 'warehouse', 'shipment', i, NULL, 'open', 'elapsed', 14400,
       timestamptz '2026-03-15 02:00:00+00',
       CASE WHEN i <= :overdue THEN timestamptz '2026-03-16 02:00:00+00' - make_interval(secs => i)
            ELSE timestamptz '2026-03-16 02:00:00+00' + make_interval(secs => i % 86400 + 1) END,
       0
FROM generate_series(1, :clocks) AS i
"""


def main(clocks: int = 1_000_000, overdue: int = 1000, database_url: str = typer.Option(None)) -> None:
    with scratch_database(database_url) as url:
        ordo = Ordo(Settings(database_url=url), clock=FixedClock(NOW))
        kind = ordo.engine.dialect.name
        started = time.perf_counter()
        with ordo.engine.begin() as conn:
            conn.execute(text(POSTGRES if kind == "postgresql" else SQLITE), {"clocks": clocks, "overdue": overdue})
            if kind == "postgresql":
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
            explain = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
            plan = conn.execute(text(
                f"{explain}SELECT id FROM sla_clocks WHERE status = 'open' AND deadline < :now ORDER BY deadline "
                "LIMIT 500"), {"now": NOW if kind == "postgresql" else "2026-03-16 02:00:00.000000"}).all()
        ordo.dispose()
    print(json.dumps({
        "benchmark": "sla_scan", "database": kind, "clocks": clocks, "overdue": overdue,
        "build_s": round(build, 2), "scan_s": round(first, 3), "breached": breached, "alerts": alerts,
        "rescan_s": round(second, 4), "rescan_breached": again,
        "plan": " | ".join(str(row[-1]) for row in plan), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    typer.run(main)
