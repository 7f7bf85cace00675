"""Engines for SQLite (WAL, foreign keys, write transactions that take the lock up front) and
PostgreSQL. Nothing here connects until asked to."""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

try:
    import fcntl
except ImportError:  # not on POSIX: writers fall back to SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]


log = logging.getLogger(__name__)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10,
                checkpoint_every: float = 0.0) -> Engine:
    """``checkpoint_every`` (SQLite files): seconds between the checkpoints of the WAL that a thread
    of the process makes after commits (``_Checkpointer``); 0 leaves them to SQLite's own, inside a
    commit."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo, checkpoint_every=checkpoint_every)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # Batched INSERTs in pages of a fixed size: psycopg caches the parsing of a statement's text, so
    # equal pages are parsed once; pages of a thousand rows cost more to parse than to run.
    _cache_parsing_of_batches()
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                           insertmanyvalues_page_size=INSERT_PAGE_ROWS)
    _ping_when_idle(engine)
    return engine


INSERT_PAGE_ROWS = 100
# psycopg keeps the parsing of a statement's text only for statements of at most 50 parameters
# (``psycopg._queries.MAX_CACHED_STATEMENT_PARAMS``, against ORMs' INSERTs of ever-changing row
# counts). Ordo's batches come in few shapes: an intake's four SLA clocks are one INSERT of 60
# parameters, parsed again on every intake — 8 % of its Python calls. A page's worth is cached.
CACHED_STATEMENT_PARAMS = 2_000


def _cache_parsing_of_batches() -> None:
    try:
        from psycopg import _queries  # private: a release without it leaves psycopg's own limit
    except ImportError:
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS) < CACHED_STATEMENT_PARAMS:
        _queries.MAX_CACHED_STATEMENT_PARAMS = CACHED_STATEMENT_PARAMS


# A pooled PostgreSQL connection that has sat unused for longer than this is tried with one round
# trip before it is handed out, and replaced if the server has dropped it (restarted, or a firewall
# timed it out). One given back moments ago is handed out as it is: checking every checkout
# (``pool_pre_ping``) cost each command a round trip — two for an intake, with its serial.
PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "ordo.idle_since"


def _ping_when_idle(engine: Engine, after: float = PING_AFTER_IDLE_S) -> None:
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < after:
            return  # just connected, or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection gone while idle: {exc}") from exc  # the pool reconnects

_SIDE: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_SIDE_LOCK = threading.Lock()


def side_engine(engine: Engine) -> Engine:
    """A small pool beside ``engine`` for single statements that must commit on their own while a
    command's transaction is open (order serials on PostgreSQL), in autocommit. A pool of its own,
    so that a command holding a connection of the main pool never waits for a second one of that
    pool (with every connection held by such commands, they would all wait). Its commits do not wait for the disk
    (``synchronous_commit = off``, set once per connection): what they write is only worth keeping
    if a later commit of the main pool, which does wait, keeps it too. PostgreSQL only; disposed
    with ``engine``."""
    with _SIDE_LOCK:
        side = _SIDE.get(engine)
        if side is None:
            # Autocommit: each statement is its own transaction, without a BEGIN and a COMMIT round trip.
            side = _SIDE[engine] = create_engine(engine.url, pool_size=1, max_overflow=3, isolation_level="AUTOCOMMIT",
                                                 connect_args={"options": "-c synchronous_commit=off"})
            _ping_when_idle(side)
            event.listen(engine, "engine_disposed", lambda _engine: side.dispose())
        return side


_LOOP: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def loop_engine(engine: Engine) -> Engine | None:
    """An engine beside ``engine`` for single reads made on an event loop itself (an HTTP worker's
    token look-up), where a hop to the thread pool would cost the request more than the read; or
    None where a read may wait and must not stop the loop (PostgreSQL: the network) or could not
    be made beside ``engine`` (an in-memory SQLite database is one connection's own). On a SQLite
    file a read in WAL mode waits for no writer; it runs without a BEGIN (a single statement is a
    transaction of its own), on a pool of its own that only event loops use — each one connection
    at a time, so a loop never waits for one that a command in the thread pool holds. Disposed
    with ``engine``."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    with _SIDE_LOCK:
        loop = _LOOP.get(engine)
        if loop is None:
            own = _sqlite_engine(engine.url.render_as_string(hide_password=False), echo=engine.echo, pool_size=2)
            loop = _LOOP[engine] = own.execution_options(sqlite_begin=None)
            event.listen(engine, "engine_disposed", lambda _engine: own.dispose())
        return loop


def _sqlite_engine(url: str, *, echo: bool, pool_size: int | None = None, checkpoint_every: float = 0.0) -> Engine:
    database = make_url(url).database
    on_file = bool(database) and database != ":memory:" and "mode=memory" not in url
    if on_file:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    checkpointer = _Checkpointer(database, checkpoint_every) if on_file and checkpoint_every > 0 else None
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 4 * pool_size}
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred and would
        # fail with "database is locked" when a reader later tries to write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        if checkpointer is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_BACKSTOP_PAGES}")
        cursor.close()

    lock_path = f"{database}.writers" if on_file and fcntl is not None else None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # ``sqlite_begin``: IMMEDIATE (the default: a write, which takes the lock up front), DEFERRED
        # (a read), or None — no BEGIN, for a connection that runs a single statement, which SQLite
        # then runs as a transaction of its own (the rollback at check-in finds none and does nothing).
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode is None:
            return
        if mode == "IMMEDIATE" and lock_path is not None:
            _writers_lock(connection, lock_path).acquire()
        connection.exec_driver_sql(f"BEGIN {mode}")

    if lock_path is not None or checkpointer is not None:
        _after_end(engine, checkpointer)
    if checkpointer is not None:
        event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())
    return engine


def _after_end(engine: Engine, checkpointer: _Checkpointer | None) -> None:
    """Release a connection's writers lock once SQLite has committed or rolled back — not before
    (the "commit" event fires before the commit, and a writer let in then would only wait for
    SQLite's lock instead); and tell the checkpointer of each commit."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _release(dbapi_connection)
        if checkpointer is not None:
            checkpointer.committed()

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _release(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection: Any, record: Any) -> None:
        lock = record.info.pop(_LOCK, None)
        if lock is not None:
            lock.close()


def _release(connection: Any) -> None:
    # The dialect is handed the pool's proxy of the connection, whose ``info`` holds the lock (the
    # engine's first connect hands it one without ``info``: no lock was taken on that one).
    try:
        info = connection.info
    except (AttributeError, NotImplementedError):
        return
    lock = info.get(_LOCK)
    if lock is not None:
        lock.release()


_LOCK = "ordo.writers_lock"


class _WritersLock:
    """SQLite lets one writer in at a time and makes the others poll with growing sleeps (the busy
    timeout), so under load a waiting writer sleeps on while the lock is free. Writers of every
    Ordo process and thread queue instead on an advisory lock file next to the database
    (``flock``: the waiter wakes as soon as it is released; the kernel drops it if a process dies)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._held = False

    def acquire(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        os.close(self._fd)


def _writers_lock(connection: Any, path: str) -> _WritersLock:
    info = connection.connection.info  # the pooled connection's: one lock file handle each
    lock = info.get(_LOCK)
    if lock is None:
        lock = info[_LOCK] = _WritersLock(path)
    return lock


# SQLite copies the WAL back into the database (a checkpoint) inside the commit that takes the WAL
# past ``wal_autocheckpoint`` pages — 1,000 by default, every fifty-odd intakes: that commit takes
# 5–35 ms instead of 0.4 (the copy and two fsyncs), and the writers queued behind the lock wait
# with it, which is where an intake's p95 under load came from. With a checkpointer the commits leave
# the copying to a thread of the process, which checkpoints a moment after them while writers go
# on. Such a checkpoint cannot let SQLite start the WAL over while writes keep coming (that needs a
# moment when every frame is copied and no writer is in), so the commit's own checkpoint stays, at
# more pages: it then finds most frames copied already, and it keeps the WAL within about 16 MB.
CHECKPOINT_BACKSTOP_PAGES = 4_000


class _Checkpointer:
    """One thread per engine and process, started at the engine's first commit (again in a forked
    child, and after the engine was disposed and used again), that checkpoints the WAL ``every``
    seconds after commits (``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no reader or writer and
    copies what it can; SQLite then starts the WAL over at a later write). Runs on a connection of
    its own, outside the pool, that only opens an existing database. The copy runs in SQLite, with
    the GIL released, beside the process's other work. Several processes' checkpointers take turns:
    a checkpoint under way makes another's a no-op."""

    def __init__(self, path: str, every: float) -> None:
        self._path, self._every = path, every
        self._lock = threading.Lock()
        self._pid = 0  # the process the thread runs in; 0: none runs
        self._thread: threading.Thread | None = None
        self._due = self._stopped = threading.Event()

    def committed(self) -> None:
        if self._pid != os.getpid():
            self._start()
        self._due.set()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # Events of the new thread's own: not a forked parent's, nor those of one told to stop.
            self._due, self._stopped = threading.Event(), threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._due, self._stopped),
                                            name=f"ordo-sqlite-checkpointer {self._path}", daemon=True)
            self._thread.start()
            self._pid = os.getpid()
            _CHECKPOINTERS.add(self)

    def _run(self, due: threading.Event, stopped: threading.Event) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not stopped.is_set():
                due.wait()
                if stopped.wait(self._every):
                    break
                due.clear()
                try:
                    if connection is None:
                        existing = f"{Path(self._path).resolve().as_uri()}?mode=rw"  # never creates one
                        connection = sqlite3.connect(existing, uri=True, isolation_level=None)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the database gone, or not there yet: the backstop remains
                    log.debug("WAL checkpoint of %s skipped: %s", self._path, exc)
        finally:
            if connection is not None:
                connection.close()

    def stop(self) -> None:
        """End this process's thread (the engine is disposed); a checkpoint under way completes. The
        engine's next commit, if it is used again, starts another."""
        with self._lock:
            if self._pid != os.getpid():
                return
            thread, self._pid = self._thread, 0
            self._stopped.set()
            self._due.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)


_CHECKPOINTERS: WeakSet[_Checkpointer] = WeakSet()


@atexit.register
def _stop_checkpointers() -> None:
    """At exit, end the threads (their connections closed), so that the last connection to close
    can checkpoint and remove the WAL as SQLite does without them."""
    for checkpointer in list(_CHECKPOINTERS):
        checkpointer.stop()
