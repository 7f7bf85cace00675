"""Order numbers: business date + serial (``20260315001``), unique under concurrency.

An upsert on the per-day counter row takes that row's lock until the transaction ends, so two
intakes can never get the same serial, and a rolled-back intake gives its serial back. The serial
is zero-padded to three digits and simply grows wider after 999.
"""

from __future__ import annotations

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ordo.order.tables import OrderNumberCounter

SERIAL_WIDTH = 3


def format_number(business_date: str, serial: int) -> str:
    return f"{business_date}{serial:0{SERIAL_WIDTH}d}"


def next_number(session: Session, business_date: str) -> str:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OrderNumberCounter.__table__
    statement = (
        insert(table)
        .values(business_date=business_date, last_serial=1)
        .on_conflict_do_update(
            index_elements=[table.c.business_date],
            set_={"last_serial": table.c.last_serial + literal_column("1")},
        )
        .returning(table.c.last_serial)
    )
    serial = session.execute(statement).scalar_one()
    return format_number(business_date, serial)
