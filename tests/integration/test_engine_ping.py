"""PostgreSQL pools: a connection given back moments ago is handed out without a round trip; one
idle for longer is tried first and replaced when the server has dropped it
(``adapters.db.engine._ping_when_idle``, which replaced ``pool_pre_ping``: a ping on every
checkout cost each command a round trip)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from ordo.adapters.db import engine as engines


@pytest.fixture
def pool(database, monkeypatch):
    if database.kind != "postgresql":
        pytest.skip("the pool's liveness check is for PostgreSQL's server connections")
    engine = engines.make_engine(database.url, pool_size=1)
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield engine, pings
    engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_use_moments_ago_is_handed_out_without_a_ping(pool):
    engine, pings = pool
    first = _backend(engine)
    assert [_backend(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_an_idle_connection_the_server_dropped_is_replaced_before_it_is_used(pool, database, monkeypatch):
    engine, pings = pool
    dropped = _backend(engine)
    with database.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped}).scalar_one() is True
    # Time passes beyond the idle limit.
    now = engines.time.monotonic()
    monkeypatch.setattr(engines.time, "monotonic", lambda: now + engines.PING_AFTER_IDLE_S + 1)
    replaced = _backend(engine)
    assert replaced != dropped
    assert pings == [1]  # the dropped one failed its ping; the new one was not pinged


def test_a_single_read_runs_without_a_transaction_and_the_pool_gets_its_connection_back_as_it_was(
        ordo, database):
    """``Ordo.single_read_engine`` (the token's look-up): no BEGIN goes before the read and no
    rollback after it — in autocommit on PostgreSQL, without SQLAlchemy's BEGIN on SQLite — and the
    connection is a transaction's again afterwards."""
    sent: list[str] = []
    event.listen(ordo.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with ordo.single_read_engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        raw = connection.connection.dbapi_connection
        if database.kind == "postgresql":
            from psycopg.pq import TransactionStatus

            assert raw.autocommit is True
            assert raw.info.transaction_status == TransactionStatus.IDLE  # no transaction was opened
        else:
            assert raw.in_transaction is False
    assert sent == ["SELECT 1"]
    if database.kind == "postgresql":
        assert raw.autocommit is False  # reset as it went back to the pool: a transaction's again
    with ordo.engine.begin() as connection:  # the same pooled connection, for a write
        assert connection.connection.dbapi_connection is raw
        connection.execute(text("SELECT 1"))
        if database.kind == "sqlite":
            assert raw.in_transaction is True
        else:
            assert raw.info.transaction_status == TransactionStatus.INTRANS
    assert sent[1:] == (["BEGIN IMMEDIATE", "SELECT 1"] if database.kind == "sqlite" else ["SELECT 1"])
