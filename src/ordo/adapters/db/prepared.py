"""Statements built once and run on the session's connection, answering plain rows.

Every intake makes some twenty statements. Through the ORM each costs several times the database's
own part: the statement is built and keyed for the compiled cache on every call, its execution goes
through the ORM's layers, and each row read becomes an entity to set up. A statement built once at
import (its values as ``bindparam``s) and run on the connection skips all three. The hot path's
reads of plain values and its writes use these; a row it inserts and goes on working with joins the
session as if read back (``loaded``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Row, Table, TextClause, bindparam, inspect, text
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")


def connection(session: Session) -> Connection:
    """The session's connection, after the autoflush an ORM statement would have done first: a
    prepared statement sees the session's pending rows as an ORM one would (none inside
    ``session.no_autoflush``)."""
    if session.autoflush:
        session.flush()
    return session.connection()


def loaded(session: Session, row: T) -> T:
    """A row just inserted with a prepared statement (every column given), joining the session as
    it would after reading the row back: no flush writes it again."""
    make_transient_to_detached(row)
    session.add(row)
    return row


def insert_pending(session: Session, kinds: tuple[type, ...]) -> None:
    """Insert the session's pending rows of these write-once kinds (rows nothing changes once the
    transaction is over: events, clocks, notices) with prepared multi-row inserts (``insert_rows``), and take
    them out of the session, so that the commit's flush is left with the rest. Called just before
    the commit: each row is final by then. In the order they were added (the event log's ids
    follow it). The rows keep their values but get no id: nothing reads one after the commit."""
    pending = sorted((row for row in session.new if isinstance(row, kinds)),
                     key=lambda row: inspect(row).insert_order)
    if not pending:
        return
    batches: dict[tuple[type, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in pending:
        values = _values(row)
        batches.setdefault((type(row), tuple(values)), []).append(values)
    for row in pending:
        session.expunge(row)
    connection = session.connection()
    for (kind, _columns_given), rows in batches.items():
        insert_rows(connection, inspect(kind).local_table, rows)


def _values(row: Any) -> dict[str, Any]:
    """The row's column values as the flush would write them: the value it was given (None as not
    given), else the column's default; a column the database fills in (a generated key, a server
    default) is left out, and any other is NULL."""
    given = row.__dict__
    values: dict[str, Any] = {}
    for key, column, default in _columns(type(row)):
        value = given.get(key)
        if value is not None or (key in given and default is None):
            values[column] = value
        elif default is _BY_DATABASE:
            continue
        elif default is not None:
            values[column] = default.arg(None) if default.is_callable else default.arg
        else:
            values[column] = None
    return values


_BY_DATABASE = object()


@cache
def _columns(kind: type) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, column, default) of each column of the kind: the column's own default, or
    ``_BY_DATABASE`` for a server default or a generated primary key, or None."""
    def default(column: Column[Any]) -> Any:
        if column.server_default is not None or (column.primary_key and column.autoincrement in (True, "auto")):
            return _BY_DATABASE
        if column.default is not None and not (column.default.is_scalar or column.default.is_callable):
            raise TypeError(f"{column}: only a plain value or a function can be the default of a row written at commit")
        return column.default

    return tuple((attr.key, column.key, default(column))
                 for attr in inspect(kind).column_attrs for column in attr.columns[:1])


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]],
                returning: tuple[str, ...] = ()) -> list[Row[Any]]:
    """Insert these rows (all with the same columns) with one multi-row INSERT per 16 rows,
    prepared once per table, columns and number of rows: unlike an executemany, nothing is rebuilt
    per call. Each row gives every column it needs: no column default is applied (``insert_pending``
    fills them in first). Answers the ``returning`` columns of the rows inserted, in no promised
    order (return a column that tells the rows apart)."""
    if not rows:
        return []
    keys = tuple(rows[0])
    answered: list[Row[Any]] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        batch = rows[start:start + _ROWS_PER_INSERT]
        if any(len(row) != len(keys) for row in batch):
            raise ValueError(f"rows for {table.name} must all have the columns {keys}")
        result = connection.execute(_rows_insert(table, keys, len(batch), returning),
                                    {f"{key}_{i}": row[key] for i, row in enumerate(batch) for key in keys})
        if returning:
            answered.extend(result.all())
    return answered


# Beyond this many rows an insert is split: the statements kept stay few and small.
_ROWS_PER_INSERT = 16


@lru_cache(maxsize=256)
def _rows_insert(table: Table, keys: tuple[str, ...], count: int, returning: tuple[str, ...]) -> TextClause:
    """The multi-row INSERT as text with typed parameters: SQLAlchemy does not cache the compiled
    form of an ``insert().values([...])`` of many rows, but does cache a text statement. Table and
    column names are Ordo's own, none needs quoting."""
    binds = [bindparam(f"{key}_{i}", type_=table.c[key].type) for i in range(count) for key in keys]
    rows = ", ".join("(" + ", ".join(f":{key}_{i}" for key in keys) + ")" for i in range(count))
    columns = ", ".join(table.c[key].name for key in keys)
    answer = f" RETURNING {', '.join(table.c[key].name for key in returning)}" if returning else ""
    return text(f"INSERT INTO {table.name} ({columns}) VALUES {rows}{answer}").bindparams(*binds)
