"""SLA clocks driven by the event log, the breach scan and the progress check.

``on_event`` is called by ``audit.log.record`` for every event, inside the command's transaction:
clocks start, stop, pause and resume with the change that caused them, and no order or shipment
handler knows about them. An event that no clock rule mentions costs a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, func, literal_column, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.audit.log import record
from ordo.audit.tables import Event
from ordo.fulfillment.tables import Shipment
from ordo.inventory.handlers import warehouse_kind
from ordo.kernel.calendar import CalendarUnknown
from ordo.notify.customer import KNOWN_NOTICE_KEYS, known_notice_keys
from ordo.notify.outbox import batched, enqueue
from ordo.notify.tables import OutboxMessage
from ordo.order.lifecycle import lock_orders_not_busy
from ordo.order.model import by_number
from ordo.order.tables import Order
from ordo.policy import ClockRule, Policy
from ordo.sla import calendar as calendars
from ordo.sla import rules
from ordo.sla.model import RUNNING, ClockStatus, Facts
from ordo.sla.tables import SlaClock

if TYPE_CHECKING:
    from ordo.bootstrap import UnitOfWork

_DEFAULT_POLICY = Policy()
_indexes: dict[int, tuple[Policy, rules.RuleIndex]] = {}


def rule_index(policy: Policy) -> rules.RuleIndex:
    cached = _indexes.get(id(policy))
    if cached is None or cached[0] is not policy:
        cached = (policy, rules.index_rules(policy))
        _indexes[id(policy)] = cached
    return cached[1]


def policy_of(session: Session) -> Policy:
    """The policy the session was opened with (``Ordo`` puts it in ``session.info``)."""
    return session.info.get("policy", _DEFAULT_POLICY)  # type: ignore[no-any-return]


# --- the event hook -------------------------------------------------------------------------------


# Clocks of entities created in this session: they have no rows from before, so the clocks the
# session started are all of them and the look-ups below need no query. Any rollback (a savepoint
# too) forgets this, and the look-ups query again.
_FRESH = "sla_fresh_clocks"
_CREATED = frozenset({"order.created", "shipment.created"})


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_fresh(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_FRESH, None)


# Built once: a statement made per call costs more Python than the query it runs.
_RUNNING_CLOCKS = select(*SlaClock.__table__.c).where(
    SlaClock.entity == bindparam("entity"), SlaClock.entity_id == bindparam("entity_id"),
    SlaClock.status.in_(bindparam("running", expanding=True)))


def _clocks(session: Session, event: Event) -> list[SlaClock]:
    """The entity's running clocks, read once per event: an entity created in this session has
    exactly the clocks the session started (no query); any other is read with one query.

    The query does not flush the command's changes first (an autoflush here split a status change's
    writes into two flushes): the clocks it reads are taken as the session holds them, with their
    unflushed changes, and the ones the session started and has not written yet are added."""
    fresh: dict[tuple[str, int], list[SlaClock]] | None = session.info.get(_FRESH)
    known = None if fresh is None else fresh.get((event.entity, event.entity_id))
    if known is not None:
        return known
    rows = prepared.execute(session.connection(), _RUNNING_CLOCKS,  # no autoflush: see above
                            {"entity": event.entity, "entity_id": event.entity_id, "running": list(RUNNING)})
    stored = prepared.held_or_loaded(session, SlaClock, rows)
    started = [row for row in session.new if isinstance(row, SlaClock)
               and row.entity == event.entity and row.entity_id == event.entity_id]
    # A clock the session has stopped is still running in the database: its status here decides.
    return [clock for clock in (*stored, *started) if clock.status in RUNNING]


def on_event(session: Session, event: Event) -> None:
    if event.name in _CREATED:
        session.info.setdefault(_FRESH, {}).setdefault((event.entity, event.entity_id), [])
    policy = policy_of(session)
    index = rule_index(policy)
    if not index.concerns(event.name):
        return
    at = event.created_at
    clocks = cache(partial(_clocks, session, event))  # read once, and only if a step below needs them
    if event.name in index.cancels:
        _close(_before(_running(clocks(), index.cancels[event.name], RUNNING), at), at, ClockStatus.CANCELLED)
    if event.name in index.stops:
        _close(_before(_running(clocks(), index.stops[event.name], RUNNING), at), at, ClockStatus.STOPPED)
    if event.name == rules.HOLD_EVENT and index.pausing:
        for clock in _running(clocks(), index.pausing, (ClockStatus.OPEN,)):
            clock.status, clock.paused_at = ClockStatus.PAUSED, at
    elif event.name == rules.RELEASE_EVENT and event.to_state != "on_hold":
        _resume(_running(clocks(), None, (ClockStatus.PAUSED,)), at)
    if event.name in index.starts:
        facts = _facts(session, event)
        for rule in index.starts[event.name]:
            if rule.entity == event.entity and rules.applies(rule, facts, event.to_state):
                _start(session, policy, index, rule, event, at, clocks())


def _facts(session: Session, event: Event) -> Facts:
    # session.get finds the rows the command already loaded without a query.
    order = session.get(Order, event.order_id) if event.order_id is not None else None
    kind = None
    if event.entity == "shipment":
        shipment = session.get(Shipment, event.entity_id)
        kind = warehouse_kind(session, shipment.warehouse_id) if shipment is not None else None
    return Facts(
        order_class=order.order_class if order is not None else None,
        service_type=order.service_type if order is not None else None,
        warehouse_kind=kind,
    )


def _start(
    session: Session, policy: Policy, index: rules.RuleIndex, rule: ClockRule, event: Event, at: datetime,
    clocks: list[SlaClock],
) -> None:
    if any(c.step == rule.step and c.status in RUNNING for c in clocks):
        return
    limit = policy.time_limits[rule.step]
    try:
        due: datetime | None = rules.deadline(at, limit, calendars.in_force(session, policy, index.calendar))
        status = ClockStatus.OPEN
    except CalendarUnknown:
        # Refuse to guess; the scan tells the admins and schedules it once the days are entered.
        due, status = None, ClockStatus.UNSCHEDULED
    clock = prepared.pending(session, SlaClock, {
        "step": rule.step, "department": rule.department, "entity": event.entity, "entity_id": event.entity_id,
        "order_id": event.order_id, "status": status, "calendar": limit.calendar,
        "limit_seconds": int(limit.limit.total_seconds()), "started_at": at, "deadline": due, "paused_seconds": 0,
    })
    clocks.append(clock)


def _running(clocks: list[SlaClock], steps: Collection[str] | None, statuses: tuple[str, ...]) -> list[SlaClock]:
    return [c for c in clocks if (steps is None or c.step in steps) and c.status in statuses]


def _before(clocks: list[SlaClock], at: datetime) -> list[SlaClock]:
    """The clocks started no later than the event. An event is recorded at its own time (a carrier
    scan at the scan's), so one reported late may be older than the clock a later step started: it
    neither stops that clock nor, since the clock still runs, starts another."""
    return [c for c in clocks if c.started_at <= at]


def _close(clocks: list[SlaClock], at: datetime, status: ClockStatus) -> None:
    for clock in clocks:
        paused = timedelta(seconds=clock.paused_seconds)
        if clock.paused_at is not None:
            paused += at - clock.paused_at
        clock.elapsed_seconds = int(rules.elapsed(clock.started_at, at, paused).total_seconds())
        clock.on_time = clock.deadline is not None and at <= clock.deadline
        clock.status, clock.stopped_at, clock.paused_at, clock.escalate_at = status, at, None, None


def _resume(paused: list[SlaClock], at: datetime) -> None:
    for clock in paused:
        assert clock.paused_at is not None
        held = at - clock.paused_at
        # The hold does not count: the deadline moves by the time held.
        clock.paused_seconds += int(held.total_seconds())
        clock.deadline = clock.deadline + held if clock.deadline is not None else None
        clock.status, clock.paused_at = ClockStatus.OPEN, None


# --- the breach scan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    breached: list[int]
    escalated: list[int]
    scheduled: list[int]
    calendar_alerts: list[int]


def _alert_once(session: Session, *, topic: str, key: str, audience: str, payload: dict[str, Any], at: datetime,
                order_id: int | None = None) -> bool:
    """Queue the alert unless one with this key exists — without a check-then-insert race: the
    insert does nothing on a conflicting key (both dialects), so a second scanner neither fails
    nor rolls back the breach marks of its transaction."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(topic=topic, key=key, audience=audience, payload=payload, order_id=order_id, status="pending",
                attempts=0, available_at=at, created_at=at)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _claim(session: Session, statement: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        # Several scanners: each takes rows the others have not locked.
        statement = statement.with_for_update(skip_locked=True)
    return session.execute(statement).all()


def scan(uow: UnitOfWork, *, batch: int | None = None) -> ScanResult:
    """Mark clocks past their deadline as breached — once, whatever the number of scanners — and
    tell the department owning the step (or, for a rule with a ``breach_event``, record that event
    and let its domain tell them); escalate those still open after the rule's (else the policy's)
    ``escalate_after`` to the supervisor; schedule clocks the calendar could not place before, and
    tell the admins about days the calendar does not know."""
    session, policy, now = uow.session, uow.policy, uow.clock.now()
    batch = batch or policy.sla.scan_batch
    due = _claim(
        session,
        select(SlaClock.id, SlaClock.step, SlaClock.department, SlaClock.order_id, SlaClock.deadline,
               SlaClock.entity, SlaClock.entity_id, SlaClock.started_at)
        .where(SlaClock.status == ClockStatus.OPEN, SlaClock.deadline < now)
        .order_by(SlaClock.deadline)
        .limit(batch),
    )
    breached: list[int] = []
    escalations: list[dict[str, Any]] = []
    index = rule_index(policy)
    tells = {row.id: row.order_id for row in due
             if row.order_id is not None and row.step in policy.sla.tell_customer_on_breach}
    # Clocks whose breach records an event of the order: telling the customer (order.delayed) or
    # the rule's breach event (a stalled parcel's shipment.stalled).
    recording = {row.id: row.order_id for row in due
                 if row.order_id is not None and (row.id in tells or row.step in index.breach_events)}
    told_orders: dict[int, Order] = {}
    if recording:
        # An event's foreign key locks the order row — after the clock, the other way round from an
        # order command (the order, then its clocks): the orders are taken now, without waiting, and
        # a clock whose order is busy waits for the next round. The one query also puts them in the
        # session, held here: the identity map keeps objects only while someone refers to them, and
        # the notices below look them up by id.
        told_orders = lock_orders_not_busy(session, set(recording.values()))
        due = [row for row in due if row.id not in recording or row.order_id in told_orders]
    if due:
        won = set(
            session.scalars(
                update(SlaClock)
                .where(SlaClock.id.in_([row.id for row in due]), SlaClock.status == ClockStatus.OPEN)
                .values(status=ClockStatus.BREACHED, breached_at=now)
                .returning(SlaClock.id)
            ).all()
        )
        order_numbers = _order_numbers(session, [row.order_id for row in due if row.id in won])
        told = sorted({order_id for clock_id, order_id in tells.items() if clock_id in won})
        if told:
            # ... and one reads the delayed notices they already have, so each needs no look-up.
            template = policy.notify.customer_events.get("order.delayed")
            if template is not None:
                session.info[KNOWN_NOTICE_KEYS] = known_notice_keys(session, told, template)
        # Hundreds of alerts and notices at once: written in one multi-row INSERT.
        with batched(session):
            try:
                for row in due:
                    if row.id not in won:
                        continue
                    further = rules.escalate_after(index, row.step, policy.sla.escalate_after)
                    escalations.append({"id": row.id, "escalate_at": row.deadline + further})
                    # The team owning the step is told first; the supervisor if it stays open (escalation).
                    breach_event = index.breach_events.get(row.step)
                    if breach_event is not None:
                        # One signal: the owning domain's observer tells its people (a stalled parcel).
                        with session.no_autoflush:
                            record(session, at=now, actor="sla", entity=row.entity, entity_id=row.entity_id,
                                   order_id=row.order_id, name=breach_event,
                                   data={"step": row.step, "clock": row.id, "department": row.department,
                                         "since": row.started_at.isoformat(), "deadline": row.deadline.isoformat()})
                    else:
                        enqueue(
                            session, topic="sla.breached", key=f"sla.breached:{row.id}", audience=row.department,
                            at=now, order_id=row.order_id,
                            payload={"clock": row.id, "step": row.step, "department": row.department,
                                     "order": order_numbers.get(row.order_id), "deadline": row.deadline.isoformat()},
                        )
                    breached.append(row.id)
                    if row.step in policy.sla.tell_customer_on_breach and row.order_id is not None:
                        # No flush per notice: the events go to the database together, at the next flush.
                        with session.no_autoflush:
                            _tell_delayed(session, told_orders.get(row.order_id), row.step, row.id, now)
            finally:
                session.info.pop(KNOWN_NOTICE_KEYS, None)
    if breached:  # one executemany by primary key
        session.execute(update(SlaClock), escalations)
    escalated = _escalate(session, now, batch)
    scheduled, alerts = _calendar(session, policy, now)
    return ScanResult(breached=breached, escalated=escalated, scheduled=scheduled, calendar_alerts=alerts)


def _tell_delayed(session: Session, order: Order | None, step: str, clock_id: int, now: datetime) -> None:
    """A customer-visible event: the delayed notice follows from it (notify.customer_events) and
    the public status query shows it on the timeline."""
    if order is None:
        return
    record(session, at=now, actor="sla", entity="order", entity_id=order.id, order_id=order.id,
           name="order.delayed", from_state=order.status, to_state=order.status, reason=step,
           data={"step": step, "clock": clock_id})


def _order_numbers(session: Session, ids: list[int | None]) -> dict[int | None, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(session.execute(select(Order.id, Order.number).where(Order.id.in_(wanted))).all())  # type: ignore[arg-type]


def _escalate(session: Session, now: datetime, batch: int) -> list[int]:
    rows = _claim(
        session,
        select(SlaClock.id, SlaClock.step, SlaClock.department, SlaClock.order_id, SlaClock.deadline)
        .where(SlaClock.status == ClockStatus.BREACHED, SlaClock.escalate_at < now)
        .order_by(SlaClock.escalate_at)
        .limit(batch),
    )
    done: list[int] = []
    numbers = _order_numbers(session, [row.order_id for row in rows])
    for row in rows:
        result = session.execute(
            update(SlaClock)
            .where(SlaClock.id == row.id, SlaClock.escalate_at.is_not(None), SlaClock.escalated_at.is_(None))
            .values(escalate_at=None, escalated_at=now)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            enqueue(
                session, topic="sla.escalated", key=f"sla.escalated:{row.id}", audience="supervisor", at=now,
                order_id=row.order_id,
                payload={"clock": row.id, "step": row.step, "department": row.department,
                         "order": numbers.get(row.order_id), "deadline": row.deadline.isoformat()},
            )
            done.append(row.id)
    return done


def _calendar(session: Session, policy: Policy, now: datetime) -> tuple[list[int], list[int]]:
    index = rule_index(policy)
    calendar = calendars.in_force(session, policy, index.calendar, fresh=True)
    scheduled: list[int] = []
    unknown_years: set[int] = set()
    unscheduled: ColumnElement[bool] = SlaClock.status == ClockStatus.UNSCHEDULED
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's statistics keep one average per index prefix: with a million open clocks it takes
        # "unscheduled" for as common as "open" and reads the whole table. They are rare: say so.
        unscheduled = func.likelihood(unscheduled, literal_column("0.000001"))
    for clock in session.scalars(select(SlaClock).where(unscheduled)):
        try:
            clock.deadline = rules.deadline(clock.started_at, policy.time_limits[clock.step], calendar)
        except CalendarUnknown as exc:
            unknown_years.add(exc.day.year)
            continue
        clock.status = ClockStatus.OPEN
        scheduled.append(clock.id)
    ahead: date = (now + policy.sla.calendar_lookahead).astimezone(calendar.zone).date()
    if not calendar.knows(ahead):
        unknown_years.add(ahead.year)
    alerts: list[int] = []
    for year in sorted(unknown_years):
        if _alert_once(session, topic="calendar.unknown", key=f"calendar.unknown:{year}", audience="admin", at=now,
                       payload={"year": year, "message_key": "calendar_unknown"}):
            alerts.append(year)
    return scheduled, alerts


# --- the progress check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Behind:
    department: str
    step: str
    overdue: int
    orders: list[str]


def behind_schedule(session: Session, now: datetime) -> list[Behind]:
    """Running clocks past their deadline, per department and step (the 09:00 / 15:00 check)."""
    rows = session.execute(
        select(SlaClock.department, SlaClock.step, Order.number)
        .outerjoin(Order, Order.id == SlaClock.order_id)
        .where(SlaClock.status.in_([ClockStatus.OPEN, ClockStatus.BREACHED]), SlaClock.deadline < now)
        .order_by(SlaClock.department, SlaClock.step)
    ).all()
    grouped: dict[tuple[str, str], list[str]] = {}
    for department, step, number in rows:
        grouped.setdefault((department, step), []).append(number or "")
    return [Behind(d, s, len(n), by_number(set(n))) for (d, s), n in grouped.items()]


def progress_check(uow: UnitOfWork) -> list[Behind] | None:
    """Run the progress check of the latest passed slot of today once (None if already done or
    before the first slot); the report goes to the supervisors through the outbox."""
    now = uow.clock.now()
    slot = rules.progress_slot(now, uow.policy.progress_checks, rule_index(uow.policy).calendar)
    if slot is None:
        return None
    report = behind_schedule(uow.session, now)
    sent = _alert_once(
        uow.session, topic="sla.progress", key=f"sla.progress:{slot.isoformat()}", audience="supervisor", at=now,
        payload={"slot": slot.isoformat(), "behind": [
            {"department": b.department, "step": b.step, "overdue": b.overdue, "orders": b.orders} for b in report
        ]},
    )
    return report if sent else None
