"""The Alembic migrations produce exactly the schema the code declares, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from ordo.adapters.db.metadata import metadata
from ordo.audit.log import record


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_sqlite_connections_use_wal_and_foreign_keys(database):
    if database.kind != "sqlite":
        pytest.skip("SQLite pragmas")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_event_log_refuses_updates(ordo, database):
    with ordo.transaction() as uow:
        record(uow.session, at=uow.clock.now(), actor="test", entity="order", entity_id=1, name="order.created")
    with pytest.raises(DatabaseError, match="events are append-only"), database.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'someone else'"))
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM events")).scalars().all() == ["test"]
