"""SLA clocks on both databases: started and stopped by events, paused by holds, breached once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from ordo.audit.log import record
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.fulfillment.states import ShipmentTrigger
from ordo.inventory.tables import Warehouse
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers
from ordo.order.model import OrderSubmission
from ordo.order.states import HoldReason
from ordo.policy import Policy, SlaPolicy, TimeLimit
from ordo.settings import Settings
from ordo.sla import queries
from ordo.sla.handlers import progress_check, scan
from ordo.sla.tables import SlaClock
from tests.factories import order_payload, prepare_packing, scan_before, seed

SYSTEM = Actor.system()
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


def place(ordo: Ordo, **changes) -> str:
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload(**changes)), actor=SYSTEM)
    return number


def step(ordo: Ordo, number: str, trigger: ShipmentTrigger, **kw) -> None:
    scan_before(ordo, number, trigger)
    with ordo.transaction() as uow:
        handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM, **kw)


def clocks(ordo: Ordo) -> dict[str, tuple]:
    with ordo.reading() as uow:
        rows = uow.session.scalars(select(SlaClock).order_by(SlaClock.id)).all()
        return {c.step: (c.status, c.deadline, c.elapsed_seconds, c.on_time) for c in rows}


def alerts(ordo: Ordo, topic: str) -> list[OutboxMessage]:
    with ordo.transaction() as uow:
        found = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)
                                         .order_by(OutboxMessage.id)))
        uow.session.expunge_all()
    return found


def test_clocks_start_and_stop_with_the_order_and_its_shipment(ordo, clock):
    seed(ordo)
    number = place(ordo)
    assert clocks(ordo) == {
        "auto_review": ("stopped", T0 + timedelta(minutes=5), 0, True),  # paid: confirmed at once
        "manual_review": ("stopped", T0 + timedelta(minutes=30), 0, True),
        "first_review": ("stopped", T0 + timedelta(hours=2), 0, True),
        "ship_normal": ("open", T0 + timedelta(hours=24), None, None),
    }
    clock.advance(timedelta(hours=1))
    step(ordo, number, ShipmentTrigger.START_PICK)
    clock.advance(timedelta(hours=5))
    step(ordo, number, ShipmentTrigger.FINISH_PICK)
    clock.advance(timedelta(minutes=10))
    step(ordo, number, ShipmentTrigger.CHECK)
    prepare_packing(ordo, number)
    step(ordo, number, ShipmentTrigger.PACK)
    step(ordo, number, ShipmentTrigger.HAND_OVER)
    clock.advance(timedelta(minutes=20))
    step(ordo, number, ShipmentTrigger.SHIP, tracking_number="YT1")
    after = clocks(ordo)
    assert after["picking"] == ("stopped", T0 + timedelta(hours=5), 5 * 3600, False)
    assert after["check_after_pick"] == ("stopped", T0 + timedelta(hours=6, minutes=30), 600, True)
    assert after["handover_after_pack"] == ("stopped", T0 + timedelta(hours=8, minutes=10), 0, True)
    assert after["tracking_upload"] == ("stopped", T0 + timedelta(hours=7, minutes=10), 1200, True)
    assert after["ship_normal"] == ("stopped", T0 + timedelta(hours=24), 6 * 3600 + 30 * 60, True)
    # Shipped: the no-movement clock runs; a domestic parcel has no cross-border steps.
    assert after["tracking_stalled"] == ("open", T0 + timedelta(hours=30, minutes=30), None, None)
    assert not {"booking_and_declaration", "warehouse_preparation_cross_border", "outbound_scan"} & set(after)
    with ordo.reading() as uow:
        rates = {r.step: (r.closed, r.on_time) for r in queries.on_time_rate(uow.session)}
    assert rates["picking"] == (1, 0) and rates["ship_normal"] == (1, 1)


def test_order_class_picks_the_ship_limit(ordo):
    seed(ordo)
    place(ordo, order_class="promotion")
    assert clocks(ordo)["ship_promotion"][:2] == ("open", T0 + timedelta(hours=48))
    assert "ship_normal" not in clocks(ordo)


def test_events_no_rule_mentions_cost_no_query(ordo, database):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with ordo.transaction() as uow:
        uow.session.connection()  # begin before counting
        sa_event.listen(database.engine, "before_cursor_execute", count)
        try:
            record(uow.session, at=T0, actor="x", entity="sku", entity_id=1, name="sku.updated")
        finally:
            sa_event.remove(database.engine, "before_cursor_execute", count)
        uow.session.expunge_all()
    assert statements == []


def test_a_hold_pauses_the_ship_clock_and_moves_its_deadline(ordo, clock):
    seed(ordo)
    number = place(ordo)
    clock.advance(timedelta(hours=1))
    with ordo.transaction() as uow:
        handlers.hold(uow, number=number, actor=SYSTEM, reason=HoldReason.AWAITING_CUSTOMER)
    assert clocks(ordo)["ship_normal"][0] == "paused"
    clock.advance(timedelta(hours=30))
    with ordo.transaction() as uow:
        assert scan(uow).breached == []  # paused clocks are never late
    with ordo.transaction() as uow:
        handlers.release(uow, number=number, actor=SYSTEM, reason=HoldReason.AWAITING_CUSTOMER)
    assert clocks(ordo)["ship_normal"][:2] == ("open", T0 + timedelta(hours=54))


def test_scan_marks_a_breach_once_alerts_and_escalates(ordo, clock):
    seed(ordo)
    number = place(ordo)
    clock.advance(timedelta(hours=24, seconds=1))
    with ordo.transaction() as uow:
        first = scan(uow)
    with ordo.transaction() as uow:
        second = scan(uow)
    assert len(first.breached) == 1 and second.breached == []
    [alert] = alerts(ordo, "sla.breached")
    # The department owning the step first; the supervisor when it stays open (escalation).
    assert (alert.audience, alert.payload["step"], alert.payload["order"]) == ("warehouse", "ship_normal", number)
    assert [m.payload["template"] for m in alerts(ordo, "customer.delayed")] == ["delayed", "delayed"]
    clock.advance(timedelta(hours=2))
    with ordo.transaction() as uow:
        assert scan(uow).escalated == first.breached
    with ordo.transaction() as uow:
        assert scan(uow).escalated == []
    assert [a.audience for a in alerts(ordo, "sla.escalated")] == ["supervisor"]
    with ordo.reading() as uow:
        [late] = queries.overdue(uow.session, clock.now(), SYSTEM)
    assert (late.order, late.step, late.status) == (number, "ship_normal", "breached")
    assert late.overdue_seconds == 2 * 3600 + 1


def test_a_year_the_calendar_does_not_know_is_refused_and_reported(database, clock):
    database.empty()
    limits = dict(Policy().time_limits)
    limits["ship_normal"] = TimeLimit(limit=timedelta(days=2), calendar="working_days")
    policy = Policy(time_limits=limits)
    clock.advance(datetime(2026, 12, 30, 2, tzinfo=UTC) - clock.now())
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine, policy=policy)
    seed(ordo)
    place(ordo)
    assert clocks(ordo)["ship_normal"][:2] == ("unscheduled", None)
    with ordo.transaction() as uow:
        assert scan(uow).calendar_alerts == [2027]
    with ordo.transaction() as uow:
        assert scan(uow).calendar_alerts == []  # told once
    [alert] = alerts(ordo, "calendar.unknown")
    assert (alert.audience, alert.payload["year"]) == ("admin", 2027)
    days = {date(2027, 1, 1): "holiday", date(2027, 1, 2): "holiday", date(2027, 1, 3): "holiday",
            date(2027, 1, 4): "workday"}
    fixed = Policy(time_limits=limits, sla=SlaPolicy(calendar_overrides=days))
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine, policy=fixed)
    with ordo.transaction() as uow:
        assert len(scan(uow).scheduled) == 1
    assert clocks(ordo)["ship_normal"][:2] == ("open", datetime(2027, 1, 4, 2, tzinfo=UTC))


def test_progress_check_lists_what_is_behind_once_per_slot(ordo, clock):
    seed(ordo)
    number = place(ordo)
    clock.advance(timedelta(hours=25))  # 11:00 Shanghai on 2026-03-16: the 09:00 slot has passed
    with ordo.transaction() as uow:
        report = progress_check(uow)
    with ordo.transaction() as uow:
        assert progress_check(uow) is None
    assert [(b.department, b.step, b.overdue, b.orders) for b in report] == [
        ("warehouse", "ship_normal", 1, [number])
    ]
    [message] = alerts(ordo, "sla.progress")
    assert message.key == "sla.progress:2026-03-16T09:00:00+08:00"


@pytest.mark.postgres_only
def test_two_scanners_racing_mark_each_breach_once(ordo, database, clock):
    if database.kind != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    seed(ordo)
    numbers = [place(ordo, external_id=f"WEB-{i}") for i in range(20)]
    clock.advance(timedelta(hours=25))
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def scanner() -> None:
        with ordo.transaction() as uow:
            barrier.wait()
            results.append(scan(uow).breached)

    threads = [threading.Thread(target=scanner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    breached = sorted(results[0] + results[1])
    assert len(breached) == len(numbers) == len(set(breached))
    assert len(alerts(ordo, "sla.breached")) == len(numbers)


DEFAULT_CLOCKS = Policy().sla.clocks


@pytest.mark.parametrize("rule", DEFAULT_CLOCKS, ids=[r.step for r in DEFAULT_CLOCKS])
def test_every_default_clock_starts_with_its_event_and_stops_on_time_with_the_next(ordo, clock, rule):
    """Each row of the policy's clock table, driven by its own start and stop events: the deadline
    is the start plus the policy limit, the stop records the elapsed time and whether it was on time,
    and a clock of the same step is never started twice for one entity."""
    seed(ordo)
    changes = {}
    if rule.order_classes:
        changes["order_class"] = rule.order_classes[0]
    number = place(ordo, external_id=f"CLOCK-{rule.step}", **changes)
    with ordo.transaction() as uow:
        uow.session.execute(SlaClock.__table__.delete())  # only the clocks of this rule below
        order = uow.session.scalars(select(handlers.Order).where(handlers.Order.number == number)).one()
        if rule.service_types:
            order.service_type = rule.service_types[0]
        shipment = handlers._shipments(uow.session, order)[0]
        if rule.warehouse_kinds:
            uow.session.get(Warehouse, shipment.warehouse_id).kind = rule.warehouse_kinds[0]
        entity_id = order.id if rule.entity == "order" else shipment.id
        started = clock.now()
        for _ in range(2):
            record(uow.session, at=started, actor="test", entity=rule.entity, entity_id=entity_id,
                   order_id=order.id, name=rule.start[0],
                   to_state=rule.start_states[0] if rule.start_states else None)
    limit = Policy().time_limits[rule.step].limit
    with ordo.reading() as uow:
        rows = uow.session.scalars(select(SlaClock).where(SlaClock.step == rule.step)).all()
        expected = [("open", started + limit, entity_id)]
        if rule.start[0] in rule.stop:  # a movement closes the running clock and starts the next one
            expected.insert(0, ("stopped", started + limit, entity_id))
        assert [(c.status, c.deadline, c.entity_id) for c in rows] == expected
    clock.advance(limit)
    stop = next(e for e in rule.stop if e not in rule.start)  # a movement both stops and restarts
    with ordo.transaction() as uow:
        record(uow.session, at=clock.now(), actor="test", entity=rule.entity, entity_id=entity_id,
               order_id=order.id, name=stop)
    with ordo.reading() as uow:
        last = uow.session.scalars(select(SlaClock).where(SlaClock.step == rule.step).order_by(SlaClock.id)).all()[-1]
        assert (last.status, last.deadline, last.elapsed_seconds, last.on_time) == (
            "stopped", started + limit, int(limit.total_seconds()), True)


@pytest.mark.postgres_only
def test_two_scanners_queue_the_same_alert_once_and_both_keep_their_breaches(database, clock):
    """Both scanners find the calendar does not know 2027 and queue the same keyed alert while the
    first has not committed: the second's insert waits, then does nothing — no unique-key error
    rolling back the breaches it marked."""
    if database.kind != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    import time

    from sqlalchemy import text

    database.empty()
    clock.advance(datetime(2026, 12, 30, 2, tzinfo=UTC) - clock.now())
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine, policy=Policy())
    seed(ordo)
    for i in range(20):
        place(ordo, external_id=f"WEB-{i}")
    clock.advance(timedelta(hours=25))
    first_scanned, results, errors = threading.Event(), {}, []

    def waiting_on_a_lock() -> bool:
        with database.engine.connect() as conn:
            return bool(conn.scalar(text(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"
            )))

    def first() -> None:
        try:
            with ordo.transaction() as uow:
                results["first"] = scan(uow, batch=10)
                first_scanned.set()
                deadline = time.monotonic() + 10
                while not waiting_on_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.02)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_scanned.set()

    def second() -> None:
        first_scanned.wait(10)
        try:
            with ordo.transaction() as uow:
                results["second"] = scan(uow, batch=10)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (results["first"].calendar_alerts, results["second"].calendar_alerts) == ([2027], [])
    assert len(results["first"].breached) == len(results["second"].breached) == 10
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SlaClock).where(SlaClock.status == "breached")) == 20
    assert len(alerts(ordo, "calendar.unknown")) == 1
    assert len(alerts(ordo, "sla.breached")) == 20


def test_a_rule_s_own_escalation_limit_sends_the_breach_to_the_supervisor(database, clock):
    database.empty()
    rules_ = tuple(r.model_copy(update={"escalate_after": timedelta(minutes=30)}) if r.step == "ship_normal" else r
                   for r in Policy().sla.clocks)
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(sla=SlaPolicy(clocks=rules_)))
    seed(ordo)
    number = place(ordo)
    clock.advance(timedelta(hours=24, seconds=1))
    with ordo.transaction() as uow:
        [clock_id] = scan(uow).breached
    clock.advance(timedelta(minutes=29))
    with ordo.transaction() as uow:
        assert scan(uow).escalated == []  # 24 h 29 min 1 s: not yet the further 30 minutes
    clock.advance(timedelta(minutes=1))
    with ordo.transaction() as uow:
        assert scan(uow).escalated == [clock_id]
    [breach] = alerts(ordo, "sla.breached")
    [escalation] = alerts(ordo, "sla.escalated")
    assert (breach.audience, escalation.audience) == ("warehouse", "supervisor")
    assert [escalation.payload[k] for k in ("step", "clock", "order")] == ["ship_normal", clock_id, number]
    with ordo.reading() as uow:
        row = uow.session.get(SlaClock, clock_id)
        assert row.escalated_at == T0 + timedelta(hours=24, minutes=30, seconds=1)


def test_days_entered_in_the_override_table_schedule_waiting_clocks(database, clock):
    from ordo.sla import calendar as calendars

    database.empty()
    calendars.forget()
    limits = dict(Policy().time_limits)
    limits["ship_normal"] = TimeLimit(limit=timedelta(days=2), calendar="working_days")
    clock.advance(datetime(2026, 12, 30, 2, tzinfo=UTC) - clock.now())
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(time_limits=limits))
    seed(ordo)
    place(ordo)
    assert clocks(ordo)["ship_normal"][:2] == ("unscheduled", None)
    days = {date(2027, 1, 1): "holiday", date(2027, 1, 2): "holiday", date(2027, 1, 3): "holiday",
            date(2027, 1, 4): "workday"}
    try:
        with ordo.transaction() as uow:
            calendars.set_days(uow, days=days, actor=SYSTEM)
        with ordo.transaction() as uow:
            assert len(scan(uow).scheduled) == 1
        assert clocks(ordo)["ship_normal"][:2] == ("open", datetime(2027, 1, 4, 2, tzinfo=UTC))
    finally:
        calendars.forget()
