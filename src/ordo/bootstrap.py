"""Composition root: settings, policy, clock and database wired together. Nothing connects at
import time; the engine is created on first use."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ordo.adapters.carriers.base import CarrierAdapter, ManualCarrier
from ordo.adapters.db import prepared
from ordo.adapters.db.engine import loop_engine, make_engine
from ordo.adapters.db.reference import ReferenceCache, attach
from ordo.audit.tables import Event
from ordo.fulfillment.tables import Shipment
from ordo.kernel.clock import Clock, SystemClock
from ordo.notify.tables import OutboxMessage
from ordo.order.tables import Order, OrderHold
from ordo.policy import Policy
from ordo.settings import Settings
from ordo.sla.tables import SlaClock

log = logging.getLogger(__name__)
T = TypeVar("T")
# SQLSTATEs of a transaction the database broke off so that others could go on: nothing of it was
# kept, and the same command run again from the start may well succeed.
BROKEN_OFF = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
# Rows a command only ever adds, final once it ends: its commit writes the new ones with one
# prepared insert per kind instead of the unit of work's flush (``prepared.insert_pending``).
WRITTEN_AT_COMMIT: tuple[type, ...] = (Event, SlaClock, OutboxMessage)
# Rows whose plain column changes the commit writes with one prepared update each instead of the
# unit of work's flush (``prepared.update_dirty``): what status changes and intakes change.
UPDATED_AT_COMMIT: tuple[type, ...] = (Order, OrderHold, Shipment, SlaClock)


def _write(session: Session) -> None:
    """What a command's commit writes itself before the unit of work's flush takes the rest."""
    prepared.insert_pending(session, WRITTEN_AT_COMMIT)
    prepared.update_dirty(session, UPDATED_AT_COMMIT)


@dataclass
class UnitOfWork:
    """What a command handler gets: one session inside one transaction, the policy and the clock."""

    session: Session
    policy: Policy
    clock: Clock
    carriers: Carriers = field(default_factory=lambda: Carriers({}))
    follow_ups: list[Callable[[UnitOfWork], object]] = field(default_factory=list)

    def after_commit(self, step: Callable[[UnitOfWork], object]) -> None:
        """Run ``step(uow)`` in a transaction of its own once this one has committed (never if it
        was rolled back). A step is a prompt start, not a promise: what must not be lost is
        written in this transaction for a later run (the worker) to find, since the process may
        die between the two."""
        self.follow_ups.append(step)

    def write(self) -> None:
        """Write the command's changes now, as its commit would: the new write-once rows with their
        prepared inserts (``WRITTEN_AT_COMMIT``), the plain changes of ``UPDATED_AT_COMMIT`` rows
        with prepared updates, then the unit of work's flush of the rest — for an answer
        read inside the command after its writes, whose first ORM query would otherwise flush them
        all through the unit of work. Only once the command has made its changes: the write-once
        rows leave the session (``prepared.insert_pending``), so a change made to one of them
        afterwards would not be written."""
        _write(self.session)
        self.session.flush()

    @property
    def called_out(self) -> bool:
        """Whether this unit of work asked a carrier for anything (which a rollback cannot take back)."""
        return self.carriers.used


class Carriers:
    """Carrier codes → adapters. A carrier without an integration is a ManualCarrier (numbers typed
    by staff or generated from the shipment number); tests inject a FakeCarrier."""

    def __init__(self, adapters: Mapping[str, CarrierAdapter]) -> None:
        self._adapters = dict(adapters)
        self.used = False

    def watched(self) -> Carriers:
        """The same adapters, for one unit of work: ``used`` tells whether it took any. Every unit
        of work gets one (the process's own is never handed out, so its ``used`` stays False)."""
        view = Carriers({})
        view._adapters = self._adapters
        return view

    def get(self, code: str) -> CarrierAdapter:
        self.used = True
        if code not in self._adapters:
            self._adapters[code] = ManualCarrier(code, prefix=code.upper().replace("_", ""))
        return self._adapters[code]


def register_observers() -> None:
    """Hook the SLA clocks, the customer notices and the stalled-parcel flag into the event log, the
    backorder service into goods receipts and the cross-border guards into the shipment steps
    (idempotent). Imported here,
    not at module level, because those modules import the domain tables."""
    from ordo.audit.log import observe
    from ordo.fulfillment.picking import follow_shipments as pick_lists_follow
    from ordo.inventory.handlers import on_restock
    from ordo.notify.customer import on_event as notify_customer
    from ordo.order.backorders import wake_backorders
    from ordo.shipping.crossborder.handlers import register_guards
    from ordo.shipping.stalls import on_event as stalled_parcels
    from ordo.sla.handlers import on_event as sla_clocks

    observe(sla_clocks)
    observe(notify_customer)
    observe(pick_lists_follow)
    observe(stalled_parcels)
    on_restock(wake_backorders)
    register_guards()


class Ordo:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
        engine: Engine | None = None,
        carriers: Mapping[str, CarrierAdapter] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.policy = policy or self.settings.load_policy()
        self.clock = clock or SystemClock()
        self.carriers = Carriers(carriers or {})
        self.reference = ReferenceCache(self.settings.reference_cache_size)
        if engine is not None:
            self.__dict__["engine"] = engine  # shared engine (tests, benchmarks)
        register_observers()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url(), echo=self.settings.sql_echo,
                           checkpoint_every=self.settings.sqlite_checkpoint_every_s)

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        # Event observers (SLA clocks, customer notices) read the policy from the session.
        return self._with_reference(sessionmaker(self.engine, expire_on_commit=False, info={"policy": self.policy}))

    @cached_property
    def read_engine(self) -> Engine:
        """The engine for reads: on SQLite its transactions do not take the write lock."""
        return self.engine.execution_options(sqlite_begin="DEFERRED")

    @cached_property
    def single_read_engine(self) -> Engine:
        """For a connection that runs one read and nothing else (the token's look-up), without a
        transaction around it: on PostgreSQL in autocommit, one round trip instead of three (BEGIN,
        the read, the rollback when the connection goes back to the pool); on SQLite without the
        BEGIN (``sqlite_begin=None``; not the AUTOCOMMIT isolation level, whose reset at check-in
        would undo the connection's being left to SQLAlchemy's BEGIN)."""
        if self.engine.dialect.name == "postgresql":
            return self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        return self.engine.execution_options(sqlite_begin=None)

    @cached_property
    def loop_read_engine(self) -> Engine | None:
        """For a single read made on an HTTP worker's event loop, without a thread-pool hop (the
        token's look-up) — on a SQLite file only (``adapters.db.engine.loop_engine``); None
        elsewhere: such a read goes to the thread pool on ``single_read_engine``."""
        return loop_engine(self.engine)

    @cached_property
    def _read_sessions(self) -> sessionmaker[Session]:
        return self._with_reference(sessionmaker(self.read_engine, expire_on_commit=False,
                                                 info={"policy": self.policy}))

    def _with_reference(self, sessions: sessionmaker[Session]) -> sessionmaker[Session]:
        if self.reference.limit:
            attach(sessions, self.reference)
        return sessions

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """One command, one transaction: committed when the block ends, rolled back on error; then
        the steps it left for after its commit (``UnitOfWork.after_commit``), each run like a
        command (``run``). A step that fails is logged, not raised: the command is done."""
        with self._sessions() as session, session.begin():
            uow = UnitOfWork(session=session, policy=self.policy, clock=self.clock, carriers=self.carriers.watched())
            yield uow
            _write(session)
        for step in uow.follow_ups:
            try:
                self.run(step)
            except Exception:
                log.exception("a step after the commit failed: %r", step)

    def run(self, command: Callable[..., T], /, *, also: type[Exception] | None = None, **params: object) -> T:
        """``command(uow, **params)`` in its own transaction (``transaction``), run again from the
        start when the database broke the transaction off to let others go on (a deadlock's victim,
        a serialization conflict: nothing of that try was kept), at most
        ``settings.transaction_attempts`` times in all. Not if the try asked a carrier for
        anything: a booking or a cancellation cannot be taken back, so that error is the answer.
        ``also``: an error worth one more try too (the unique key a concurrent twin took first,
        which the next try finds). The command must leave nothing outside the database before it
        returns: a try may be thrown away."""
        attempts = self.settings.transaction_attempts
        for attempt in range(1, attempts + 1):
            uow: UnitOfWork | None = None
            try:
                with self.transaction() as uow:
                    return command(uow, **params)
            except DBAPIError as error:
                state = getattr(error.orig, "sqlstate", None)
                again = state in BROKEN_OFF or (also is not None and isinstance(error, also))
                if not again or attempt == attempts or (uow is not None and uow.called_out):
                    raise
                log.warning("transaction broken off (%s); try %d of %d", state or type(error).__name__,
                            attempt + 1, attempts)
        raise AssertionError("unreachable")

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """A read-only unit of work (on SQLite it does not take the write lock)."""
        with self._read_sessions() as session, session.begin():
            yield UnitOfWork(session=session, policy=self.policy, clock=self.clock, carriers=self.carriers.watched())
            session.rollback()

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
