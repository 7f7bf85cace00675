"""SQLite writers queue on the lock file next to the database instead of polling the busy
timeout: a second write transaction waits for the first and then runs; a rollback lets the next
one in; readers never wait for it."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ordo.adapters.db.engine import make_engine
from ordo.adapters.db.migrate import upgrade


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _held_elsewhere(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def test_second_writer_waits_for_the_first_then_runs(engine, tmp_path):
    lock_file = tmp_path / "w.db.writers"
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO order_number_counters (business_date, last_serial) VALUES ('20990101', 1)"))
            first_in.set()
            release_first.wait(10)
            order.append("first commits")

    def second() -> None:
        with engine.begin() as conn:
            order.append("second begins")
            conn.execute(text("UPDATE order_number_counters SET last_serial = last_serial + 1"))

    a = threading.Thread(target=first)
    a.start()
    assert first_in.wait(10)
    assert _held_elsewhere(lock_file)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.3)
    assert order == []  # the second writer is waiting, not failing
    release_first.set()
    a.join(10)
    b.join(10)
    assert order == ["first commits", "second begins"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_serial FROM order_number_counters")).scalar_one() == 2
    assert not _held_elsewhere(lock_file)


def test_rollback_releases_and_readers_do_not_wait(engine, tmp_path):
    lock_file = tmp_path / "w.db.writers"
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO order_number_counters (business_date, last_serial) VALUES ('20990101', 1)"))
        assert _held_elsewhere(lock_file)
        raise RuntimeError("the command failed")
    assert not _held_elsewhere(lock_file)
    reader = engine.execution_options(sqlite_begin="DEFERRED")
    with engine.begin(), reader.connect() as conn, conn.begin():  # a reader inside a writer's transaction
        assert conn.execute(text("SELECT count(*) FROM order_number_counters")).scalar_one() == 0
