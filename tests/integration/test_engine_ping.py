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


@pytest.fixture
def listening():
    """Listen to an engine's statements for the test only (the engines live for the whole run)."""
    added = []

    def listen(engine, listener):
        event.listen(engine, "before_cursor_execute", listener)
        added.append((engine, listener))

    yield listen
    for engine, listener in added:
        event.remove(engine, "before_cursor_execute", listener)


def test_a_single_read_runs_without_a_transaction_and_the_pool_gets_its_connection_back_as_it_was(
        ordo, database, listening):
    """``Ordo.single_read_engine`` (the token's look-up): no BEGIN goes before the read and no
    rollback after it — in autocommit on PostgreSQL, without SQLAlchemy's BEGIN on SQLite — and the
    connection is a transaction's again afterwards."""
    sent: list[str] = []
    listening(ordo.engine, lambda *args: sent.append(args[2]))
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
    # Back in the pool as it was: a transaction's again (PostgreSQL), left to SQLAlchemy's BEGIN (SQLite).
    if database.kind == "postgresql":
        assert raw.autocommit is False
    else:
        assert (raw.isolation_level, raw.in_transaction) == (None, False)
    with ordo.engine.begin() as connection:  # and a write still begins its transaction
        connection.execute(text("SELECT 1"))
    assert sent[1:] == (["BEGIN IMMEDIATE", "SELECT 1"] if database.kind == "sqlite" else ["SELECT 1"])


def test_a_workers_token_look_up_reads_on_its_own_pool_without_a_begin_and_waits_for_no_writer(
        ordo, database, listening):
    """``Ordo.loop_read_engine``: on a SQLite file the token's look-up runs on the event loop, on a
    pool of its own, as one statement; a command holding the write lock does not hold it up. On
    PostgreSQL (and an in-memory SQLite database) there is none: the look-up goes to the thread pool."""
    import threading

    from fastapi.testclient import TestClient

    from ordo.entrypoints.api.app import create_app
    from tests.factories import user_token

    if database.kind == "postgresql":
        assert ordo.loop_read_engine is None
        return
    assert engines.loop_engine(engines.make_engine("sqlite://")) is None
    loop = ordo.loop_read_engine
    assert loop is not None and loop.pool is not ordo.engine.pool
    assert str(loop.url) == str(ordo.engine.url)
    sent: list[str] = []
    listening(loop, lambda *args: sent.append(args[2].split()[0]))
    token = user_token(ordo, "root", ["admin"])
    held, done = threading.Event(), threading.Event()

    def writer() -> None:  # a command in the middle of its write transaction
        with ordo.engine.begin() as connection:
            connection.execute(text("UPDATE users SET display_name = 'busy' WHERE username = 'root'"))
            held.set()
            done.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(10)
        with TestClient(create_app(ordo)) as client:
            answer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["username"] == "root"
            assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        done.set()
        thread.join(10)
    assert sent == ["SELECT", "SELECT"]  # the two look-ups, each alone: no BEGIN, no ROLLBACK
