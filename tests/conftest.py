"""Test fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ORDO_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test);
each pytest worker gets a database of its own, migrated with Alembic once, and tables are emptied
between tests. Without PostgreSQL the PostgreSQL half is skipped, except under CI=true, where it
is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from ordo.adapters.db.engine import make_engine
from ordo.adapters.db.metadata import metadata
from ordo.adapters.db.migrate import upgrade
from ordo.bootstrap import Ordo
from ordo.kernel.clock import FixedClock
from ordo.settings import Settings

PG_URL = os.environ.get("ORDO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# 10:00 in Shanghai on 2026-03-15: order numbers of the day start with 20260315.
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


def _pg_admin() -> psycopg.Connection:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


class Database:
    def __init__(self, kind: str, url: str, engine: Engine) -> None:
        self.kind, self.url, self.engine = kind, url, engine

    def empty(self) -> None:
        # The reference generation's one row stays: the triggers move it on when the tables go.
        names = [t.name for t in reversed(metadata.sorted_tables) if t.name != "reference_generation"]
        with self.engine.begin() as conn:
            if self.kind == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    conn.execute(text(f"DELETE FROM {name}"))

    def row_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                t.name: conn.execute(text(f"SELECT count(*) FROM {t.name}")).scalar_one()
                for t in metadata.sorted_tables
            }


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ordo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield Database("sqlite", url, engine)
        engine.dispose()
        return
    name = f"ordo_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and cannot be reached at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield Database("postgresql", url, engine)
    finally:
        engine.dispose()
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ordo(database: Database, clock: FixedClock) -> Iterator[Ordo]:
    database.empty()
    app = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine)
    yield app
