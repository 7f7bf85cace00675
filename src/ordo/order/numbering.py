"""Order numbers: business date + serial (``20260315001``), unique under concurrency.

An upsert on the per-day counter row hands out the next serial; two intakes can never get the same.
Where the upsert runs is ``policy.intake.gapless_numbers``:

- gapless (always on SQLite, whose writers queue one at a time anyway): in the intake's own
  transaction, so the counter row stays locked until the intake commits — a rolled-back intake gives
  its serial back, and on PostgreSQL every intake waits for the one before to commit;
- otherwise (PostgreSQL): in a short transaction of its own on a side connection, committed before
  the intake goes on, so intakes run side by side; an intake that fails after taking its serial
  leaves a gap. That commit does not wait for the disk (the side pool's connections run with
  ``synchronous_commit = off``): the intake's own commit flushes the log up to and past it, so a
  serial an order kept is never lost, and one lost in a crash was never used.

The serial is zero-padded to three digits and simply grows wider after 999.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Insert, bindparam, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.adapters.db.engine import side_engine
from ordo.order.tables import OrderNumberCounter

SERIAL_WIDTH = 3


def format_number(business_date: str, serial: int) -> str:
    return f"{business_date}{serial:0{SERIAL_WIDTH}d}"


@cache
def _take_serial(dialect: str) -> Insert:
    """The upsert of the day's counter (``business_date``), answering the serial; built once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OrderNumberCounter.__table__
    return (
        insert(table)
        .values(business_date=bindparam("business_date"), last_serial=1)
        .on_conflict_do_update(
            index_elements=[table.c.business_date],
            set_={"last_serial": table.c.last_serial + literal_column("1")},
        )
        .returning(table.c.last_serial)
    )


def next_number(session: Session, business_date: str, *, gapless: bool = True) -> str:
    bind = session.get_bind()
    dialect = bind.dialect.name
    statement, params = _take_serial(dialect), {"business_date": business_date}
    if gapless or dialect != "postgresql":
        serial = prepared.execute(prepared.connection(session), statement, params).scalar_one()
    else:
        with side_engine(bind.engine).connect() as connection:  # autocommit: committed as it runs
            serial = prepared.execute(connection, statement, params).scalar_one()
    return format_number(business_date, serial)
