"""The Alembic migrations produce exactly the schema the code declares, on both databases."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, IntegrityError

from ordo.adapters.db.metadata import metadata
from ordo.adapters.db.migrate import alembic_config
from ordo.audit.log import record
from ordo.auth.model import Actor
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, seed


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


def test_the_unique_tracking_number_upgrade_stops_at_numbers_shipments_share(ordo, database):
    """0021: a number two shipments already share is the carrier's to settle, not the migration's."""
    seed(ordo)
    for external_id in ("MIG-1", "MIG-2"):
        intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id=external_id)),
               actor=Actor.system())
    config = alembic_config()

    def migrate(step, revision: str) -> None:
        with database.engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, revision)

    migrate(command.downgrade, "0020")
    try:
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE shipments SET tracking_number = 'SF1'"))
        with pytest.raises(RuntimeError, match=r"tracking numbers shared by several shipments: SF1 \(2 shipments\)"):
            migrate(command.upgrade, "head")
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE shipments SET tracking_number = 'SF2' "
                              "WHERE id = (SELECT max(id) FROM shipments)"))
    finally:
        migrate(command.upgrade, "head")

    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        conn.execute(text("UPDATE shipments SET tracking_number = 'SF1'"))
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT tracking_number FROM shipments ORDER BY id")).scalars().all() == ["SF1", "SF2"]
