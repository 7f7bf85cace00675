"""SQLite's WAL is copied back into the database by a thread of the process a moment after the
commits, not inside the commit that takes it past 1,000 pages (which then took 5–35 ms while the
other writers waited): the commit leaves its pages in the WAL, the checkpointer copies them, the
thread ends with the engine; with the setting at 0 the commits checkpoint as SQLite does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ordo.adapters.db.engine import CHECKPOINT_BACKSTOP_PAGES, make_engine
from ordo.bootstrap import Ordo
from ordo.settings import Settings

MB = 1 << 20


def _write_6_mb(engine, rows: int = 60) -> None:  # type: ignore[no-untyped-def]
    """One commit of about 1,500 pages (6 MB): past SQLite's own checkpoint mark, under the backstop."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS blobs (b BLOB)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO blobs VALUES (:b)"), [{"b": bytes(100_000)} for _ in range(rows)])


def _checkpointers(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"ordo-sqlite-checkpointer {path}" and t.is_alive()]


def _grown(path: Path, size: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.stat().st_size >= size:
            return True
        time.sleep(0.02)
    return False


def test_the_commit_leaves_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}", checkpoint_every=30.0)  # the thread waits long: the commit alone
    try:
        _write_6_mb(engine)
        assert db.stat().st_size < MB  # the pages are in the WAL only
        assert (tmp_path / "c.db-wal").stat().st_size > 6_000_000
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == CHECKPOINT_BACKSTOP_PAGES
            assert conn.execute(text("SELECT count(*) FROM blobs")).scalar_one() == 60
        assert len(_checkpointers(db)) == 1  # started by the first commit
    finally:
        engine.dispose()
    assert _checkpointers(db) == []  # ended with the engine, without waiting out its 30 s


def test_the_checkpointer_copies_the_wal_back_after_the_commits(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}", checkpoint_every=0.05)
    try:
        _write_6_mb(engine)
        assert _grown(db, 6_000_000, within=10)
    finally:
        engine.dispose()


def test_an_engine_used_again_after_its_disposal_gets_a_checkpointer_again(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}", checkpoint_every=0.05)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE blobs (b BLOB)"))
        engine.dispose()
        assert _checkpointers(db) == []
        _write_6_mb(engine)  # the pool connects again, and the commit starts a thread again
        assert len(_checkpointers(db)) == 1
        assert _grown(db, 6_000_000, within=10)
    finally:
        engine.dispose()
    assert _checkpointers(db) == []


def test_a_commit_past_the_backstop_checkpoints_itself_and_the_wal_stays_bounded(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}", checkpoint_every=30.0)  # the thread waits long: the commit alone
    try:
        _write_6_mb(engine, rows=CHECKPOINT_BACKSTOP_PAGES * 4096 // 100_000 + 10)  # ~17 MB
        assert db.stat().st_size >= CHECKPOINT_BACKSTOP_PAGES * 4096  # copied inside the commit
    finally:
        engine.dispose()


def test_a_process_that_exits_without_disposing_leaves_no_wal_behind(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    script = textwrap.dedent(f"""
        import time
        from sqlalchemy import text
        from ordo.adapters.db.engine import make_engine
        engine = make_engine("sqlite:///{db}", checkpoint_every=0.05)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        time.sleep(0.5)  # the thread has checkpointed, on a connection it holds open
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "c.db-wal").exists()  # the thread ended at exit, the last connection removed it
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar_one() == 1
    finally:
        engine.dispose()


def test_without_a_checkpointer_the_commit_checkpoints(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{db}", checkpoint_every=0)
    try:
        _write_6_mb(engine)
        assert db.stat().st_size >= 6_000_000  # copied inside the commit
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000  # SQLite's own
        assert _checkpointers(db) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("every", [0.25, 0.0])
def test_the_setting_reaches_the_engine(tmp_path: Path, every: float) -> None:
    ordo = Ordo(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", sqlite_checkpoint_every_s=every))
    try:
        with ordo.engine.begin() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == (CHECKPOINT_BACKSTOP_PAGES if every else 1000)
        assert len(_checkpointers(tmp_path / "s.db")) == (1 if every else 0)
    finally:
        ordo.dispose()


def _all_checkpointers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("ordo-sqlite-checkpointer")}


def test_no_checkpointer_for_a_database_in_memory() -> None:
    before = _all_checkpointers()
    engine = make_engine("sqlite://", checkpoint_every=0.05)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _all_checkpointers() == before
    finally:
        engine.dispose()
