"""Statements built once and run on the session's connection, answering plain rows.

Every intake makes some twenty statements. Through the ORM each costs several times the database's
own part: the statement is built and keyed for the compiled cache on every call, its execution goes
through the ORM's layers, and each row read becomes an entity to set up. A statement built once at
import (its values as ``bindparam``s) and run on the connection skips all three. The hot path's
reads of plain values and its writes use these; a row it inserts and goes on working with joins the
session as if read back (``loaded``).

Even on the connection, SQLAlchemy's execution sets up a context, a cursor result and its
metadata for every statement: some 50 µs, more than psycopg's own part. ``execute`` runs such a
statement with less: the SQL and a recipe for its parameters are worked out once per statement,
dialect and shape (the keys given, the length of each list for an ``IN``), then each call fills in
the values, runs the cursor through SQLAlchemy's own bare path (``Connection._cursor_execute``:
its events, logging and error wrapping, so a unique conflict is still an ``IntegrityError``) and
answers the rows as tuples with names (``Rows``). A statement that needs more of SQLAlchemy (a
column default computed in Python, a value rendered into the SQL) is run by SQLAlchemy instead.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any, Literal, TypeVar

from sqlalchemy import Column, Connection, Executable, Table, TextClause, bindparam, inspect, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

T = TypeVar("T")


def connection(session: Session) -> Connection:
    """The session's connection, after the autoflush an ORM statement would have done first: a
    prepared statement sees the session's pending rows as an ORM one would (none inside
    ``session.no_autoflush``)."""
    if session.autoflush:
        session.flush()
    return session.connection()


def loaded(session: Session, kind: type[T], values: Mapping[str, Any]) -> T:
    """A row just inserted with a prepared statement (``values``: every column, its key included),
    joining the session as it would after reading the row back: no flush writes it again."""
    row = _made(kind, values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def pending(session: Session, kind: type[T], values: Mapping[str, Any]) -> T:
    """A new row added to the session as ``session.add(kind(**values))`` would add it, for
    write-once rows (events, clocks, notices) made by the dozen per command. Written by the commit
    (``insert_pending``) or by an earlier flush, as any pending row; an attribute not given reads
    as None, as after the constructor."""
    row = _made(kind, values)
    session.add(row)
    return row


def _made(kind: type[T], values: Mapping[str, Any]) -> T:
    """A row of ``kind`` holding ``values``, made as the ORM makes a row it reads: without the
    constructor's event for each attribute set, which costs more than the rest of its making."""
    row = inspect(kind).class_manager.new_instance()
    row.__dict__.update(values)
    return row  # type: ignore[no-any-return]


def held_or_loaded(session: Session, kind: type[T], rows: Sequence[Any]) -> list[T]:
    """Rows of every column of ``kind`` (a prepared read's answer) as the session's entities, as an
    ORM read gives them: a row the session holds already is that object, unchanged; any other
    joins the session as read (``loaded``; its relationships load when first used)."""
    mapper = inspect(kind)
    keys = [column.key for column in mapper.primary_key]
    found = []
    for row in rows:
        values = row._asdict()
        held = session.identity_map.get(identity_key(kind, tuple(values[key] for key in keys)))
        found.append(held if held is not None else loaded(session, kind, values))
    return found


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


def update_dirty(session: Session, kinds: tuple[type, ...]) -> None:
    """Write the session's changed rows of these kinds with prepared updates by primary key, and
    mark them unchanged as the flush does after its own update, so that the commit's flush is left
    with the rest (after a status change, nothing: the unit of work's flush costs more than a
    thousand Python calls even for three rows). Called just before the commit, after
    ``insert_pending``.

    Only plain changes of columns: a row whose change the unit of work has to complete — a changed
    relationship (the flush sets the children's keys from it), a new primary key, a value that is a
    SQL expression — is left to the flush, as are new and deleted rows. A column set to the value
    it had is not written, and a row with nothing else changed is not updated. A row with a version
    counter (``version_id_col``) is updated only where the database still has the version read,
    and its counter moves on; as with the flush, a row that is not there any more (or has another
    version) raises ``StaleDataError`` and nothing of the transaction is kept.

    Relies on SQLAlchemy's instance state (``committed_state``, ``_commit_all``: what the flush
    itself uses to take a row as written)."""
    for row in list(session.dirty):
        if not isinstance(row, kinds):
            continue
        state = inspect(row)
        plan = _update_plan(type(row))
        changed, given = state.committed_state, state.dict
        if any(key not in plan.columns for key in changed):
            continue  # a relationship (or the key) changed: the flush completes it
        if plan.version is not None and plan.version[0] not in given:
            continue  # the version counter is not loaded (expired): the flush reads it first
        values = {plan.columns[key]: given[key] for key, before in changed.items()
                  if before is NO_VALUE or given.get(key, NO_VALUE) != before}
        if any(isinstance(value, ClauseElement) or value is NO_VALUE for value in values.values()):
            continue
        if values:
            params = {f"pk_{i}": value for i, value in enumerate(state.identity)}
            if plan.version is not None:
                attribute, column = plan.version
                params["old_version"] = given[attribute]
                values[column] = given[attribute] = plan.next_version(given[attribute])
            params.update((f"new_{column}", value) for column, value in values.items())
            statement = _update_statement(type(row), tuple(sorted(values)))
            if len(execute(session.connection(), statement, params)) != 1:
                raise StaleDataError(f"UPDATE statement on table '{plan.table.name}' expected to update 1 row(s); "
                                     "0 were matched.")
        state._commit_all(given, session.identity_map)


@dataclass(frozen=True)
class _UpdatePlan:
    table: Table
    columns: dict[str, str]  # attribute -> column, for the columns an update may set
    version: tuple[str, str] | None  # the version counter's attribute and column
    next_version: Callable[[Any], Any]


@cache
def _update_plan(kind: type) -> _UpdatePlan:
    mapper = inspect(kind)
    version = None
    if mapper.version_id_col is not None:
        version = (mapper.get_property_by_column(mapper.version_id_col).key, mapper.version_id_col.key)
    keys = {column.key for column in mapper.primary_key}
    columns = {attr.key: attr.columns[0].key for attr in mapper.column_attrs
               if attr.columns[0].key not in keys and (version is None or attr.key != version[0])}
    return _UpdatePlan(mapper.local_table, columns, version, mapper.version_id_generator)


@lru_cache(maxsize=256)
def _update_statement(kind: type, columns: tuple[str, ...]) -> Executable:
    mapper = inspect(kind)
    table, plan = mapper.local_table, _update_plan(kind)
    where = [column == bindparam(f"pk_{i}", type_=column.type) for i, column in enumerate(mapper.primary_key)]
    if plan.version is not None:
        counter = table.c[plan.version[1]]
        where.append(counter == bindparam("old_version", type_=counter.type))
    return (update(table).where(*where)
            .values({table.c[name]: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
            .returning(*mapper.primary_key))


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
                returning: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Insert these rows (all with the same columns) with one multi-row INSERT per 16 rows,
    prepared once per table, columns and number of rows: unlike an executemany, nothing is rebuilt
    per call. Each row gives every column it needs: no column default is applied (``insert_pending``
    fills them in first). Answers the ``returning`` columns of the rows inserted, in no promised
    order (return a column that tells the rows apart)."""
    if not rows:
        return []
    keys = tuple(rows[0])
    answered: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        batch = rows[start:start + _ROWS_PER_INSERT]
        if any(len(row) != len(keys) for row in batch):
            raise ValueError(f"rows for {table.name} must all have the columns {keys}")
        result = execute(connection, _rows_insert(table, keys, len(batch), returning),
                         {f"{key}_{i}": row[key] for i, row in enumerate(batch) for key in keys})
        answered.extend(result)
    return answered


# Beyond this many rows an insert is split: the statements kept stay few and small.
_ROWS_PER_INSERT = 16


@lru_cache(maxsize=256)
def _rows_insert(table: Table, keys: tuple[str, ...], count: int, returning: tuple[str, ...]) -> TextClause:
    """The multi-row INSERT as text with typed parameters: SQLAlchemy does not cache the compiled
    form of an ``insert().values([...])`` of many rows, but does cache a text statement. Names are
    quoted where a reserved word or a character needs it (the standard's double quotes, which SQLite
    and PostgreSQL share)."""
    binds = [bindparam(f"{key}_{i}", type_=table.c[key].type) for i in range(count) for key in keys]
    rows = ", ".join("(" + ", ".join(f":{key}_{i}" for key in keys) + ")" for i in range(count))
    columns = ", ".join(_QUOTED.quote(table.c[key].name) for key in keys)
    answer = f" RETURNING {', '.join(_QUOTED.quote(table.c[key].name) for key in returning)}" if returning else ""
    return text(f"INSERT INTO {_QUOTED.format_table(table)} ({columns}) VALUES {rows}{answer}").bindparams(*binds)


# The SQL standard's quoting rules (reserved words, upper case, other characters): both databases
# Ordo runs on read them alike.
_QUOTED = DefaultDialect().identifier_preparer


# --- execution ------------------------------------------------------------------------------------


class Rows(list):  # type: ignore[type-arg]
    """The rows a statement answered (tuples whose columns are also attributes), with the few
    reading methods of a SQLAlchemy result that the callers use."""

    def all(self) -> list[Any]:
        return list(self)

    def first(self) -> Any:
        return self[0] if self else None

    def one(self) -> Any:
        """The only row; none or several raise what SQLAlchemy's ``one()`` raises."""
        if not self:
            raise NoResultFound("No row was found when one was required")
        if len(self) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self[0]

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> Rows:
        return Rows(row[0] for row in self)


def execute(connection: Connection, statement: Executable, params: Mapping[str, Any] | None = None) -> Rows:
    """``connection.execute(statement, params)`` for a statement built once, answering ``Rows``
    (see the module's note): the same SQL, parameters and errors, without SQLAlchemy's result."""
    params = params or {}
    shape = _shape(connection.dialect, statement, params)
    if shape is None:
        result = connection.execute(statement, params)
        return Rows(result.all() if result.returns_rows else ())
    values = shape.values(params)
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's own execution begins one
    cursor = connection.connection.cursor()
    try:
        connection._cursor_execute(cursor, shape.sql, values)
        try:
            if shape.reading is None:
                # The first run of the shape says whether it answers rows, and with which columns:
                # the cursor's description is read once (psycopg builds it afresh on every read,
                # an object and a type look-up per column — a fifth of a status change's Python).
                shape.learn(connection.dialect, cursor.description)
            if shape.reading is False:
                return Rows()
            return shape.rows(cursor.fetchall())
        except Exception as error:
            connection._handle_dbapi_exception(error, shape.sql, values, cursor, None)
    finally:
        cursor.close()


@dataclass
class _Compiled:
    statement: Executable  # kept so that its id is not handed to another statement meanwhile
    compiled: SQLCompiler | None  # None: SQLAlchemy runs it (``_direct``)
    expanding: tuple[str, ...]
    shapes: dict[tuple[int, ...], _Shape | None] = field(default_factory=dict)


@dataclass
class _Shape:
    """The SQL of one shape and how to fill in its parameters: per parameter, the key given (with
    the position in its list for an expanded one, else -1) or a value the statement holds."""

    sql: str
    names: tuple[str, ...]
    sources: tuple[tuple[str | None, int, Any, Callable[[Any], Any] | None], ...]
    positional: bool
    columns: Sequence[Any]  # the compiled statement's result columns (their types)
    # How its rows are read (their type, and the result processor of each column that has one), or
    # False for a statement that answers none; None until its first run.
    reading: tuple[type, tuple[tuple[int, Callable[[Any], Any]], ...]] | Literal[False] | None = None

    def values(self, params: Mapping[str, Any]) -> Any:
        # A comprehension, then the processors where there are any: a statement of many parameters
        # (an order's insert has 40) pays no call for each plain one.
        filled = [constant if key is None else params[key] if index < 0 else params[key][index]
                  for key, index, constant, _ in self.sources]
        for position, process in self.processed:
            if filled[position] is not None:
                filled[position] = process(filled[position])
        return tuple(filled) if self.positional else dict(zip(self.names, filled, strict=True))

    @cached_property
    def processed(self) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        return tuple((position, process) for position, (_, _, _, process) in enumerate(self.sources)
                     if process is not None)

    def learn(self, dialect: Dialect, description: Sequence[Any] | None) -> None:
        """How to read the shape's rows, from the cursor's description after its first run (the
        same SQL answers the same columns every time)."""
        if description is None:
            self.reading = False
            return
        if len(self.columns) == len(description):
            names = [column.keyname for column in self.columns]
            processors = tuple(column.type._cached_result_processor(dialect, d[1])
                               for column, d in zip(self.columns, description, strict=True))
        else:  # a text statement: the driver's values, as SQLAlchemy answers them
            names, processors = [d[0] for d in description], (None,) * len(description)
        self.reading = (namedtuple("Row", names, rename=True),  # type: ignore[misc]
                        tuple((i, process) for i, process in enumerate(processors) if process is not None))

    def rows(self, fetched: list[Any]) -> Rows:
        if not self.reading:
            raise RuntimeError("a shape's rows read before its first run said how")
        row_type, processed = self.reading
        if not processed:
            return Rows(row_type._make(row) for row in fetched)
        answered = Rows()
        for row in fetched:  # only the columns with a processor cost a call (an order's row has 40 columns)
            values = list(row)
            for position, process in processed:
                if values[position] is not None:
                    values[position] = process(values[position])
            answered.append(row_type._make(values))
        return answered


_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[tuple[int, tuple[str, ...]], _Compiled]] = \
    weakref.WeakKeyDictionary()


def _shape(dialect: Dialect, statement: Executable, params: Mapping[str, Any]) -> _Shape | None:
    keys = tuple(sorted(params))
    compiled_of = _COMPILED.setdefault(dialect, {})
    entry = compiled_of.get((id(statement), keys))
    if entry is None or entry.statement is not statement:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        direct = _direct(compiled)
        expanding = tuple(sorted(compiled.bind_names[b] for b in compiled.post_compile_params)) if direct else ()
        entry = compiled_of[(id(statement), keys)] = _Compiled(statement, compiled if direct else None, expanding)
    if entry.compiled is None:
        return None
    lengths = tuple(len(params[name]) for name in entry.expanding)
    if lengths not in entry.shapes:
        entry.shapes[lengths] = _new_shape(entry.compiled, params, entry.expanding)
    return entry.shapes[lengths]


def _direct(compiled: SQLCompiler) -> bool:
    """Whether ``execute`` can run the compiled statement itself: nothing is computed in Python
    (an insert's column defaults) or rendered into the SQL per call, and no name is escaped."""
    return not (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
                or compiled.escaped_bind_names
                or any(b.type._is_tuple_type for b in compiled.post_compile_params))


def _new_shape(compiled: SQLCompiler, params: Mapping[str, Any], expanding: tuple[str, ...]) -> _Shape | None:
    state = compiled.construct_expanded_state(dict(params))
    item_of = {new: (key, i) for key, news in state.parameter_expansion.items() for i, new in enumerate(news)}
    if any(len(state.parameter_expansion.get(key, ())) != len(params[key]) for key in expanding):
        return None
    names = tuple(state.positiontup) if state.positiontup is not None else tuple(state.parameters)
    processors = {**compiled._bind_processors, **state.processors}  # the plain ones, then the expanded
    sources = []
    for name in names:
        key, index = item_of.get(name, (name, -1))
        given = key in params
        sources.append((key if given else None, index, None if given else state.parameters[name],
                        processors.get(name)))
    return _Shape(sql=state.statement, names=names, sources=tuple(sources),
                  positional=state.positiontup is not None, columns=compiled._result_columns)
