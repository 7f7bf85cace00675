"""Statements built once and run on the session's connection, answering plain rows.

Every intake makes some twenty statements. Through the ORM each costs several times the database's
own part: the statement is built and keyed for the compiled cache on every call, its execution goes
through the ORM's layers, and each row read becomes an entity to set up. A statement built once at
import (its values as ``bindparam``s) and run on the connection skips all three. The hot path's
reads of plain values and its writes use these; a row it inserts and goes on working with joins the
session as if read back (``loaded``).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Connection
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
