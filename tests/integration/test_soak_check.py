"""The soak checker (bench/check.py) on both databases: a consistent database passes, and each
deliberately broken one — a ledger that does not add up, an illegal or missing event, an orphaned
reservation, a lost or unacknowledged order, an undelivered message — is named exactly."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ordo.auth.model import Actor
from ordo.catalog.tables import Sku
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.order import handlers
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.states import ORDER, HoldReason
from tests.bench_modules import check
from tests.factories import order_payload, seed

SYSTEM = Actor.system()
UNPAID = {"method": "alipay", "status": "unpaid", "amount_paid": "0.00"}


def place(ordo, external_id: str, **changes) -> str:
    number, created = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id=external_id,
                                                                                            **changes)), actor=SYSTEM)
    assert created
    return number


@pytest.fixture
def shop(ordo, database):
    """Four orders: allocated, cancelled (its stock released), held after allocation, unpaid; every
    outbox message delivered once."""
    seed(ordo)
    numbers = {
        "allocated": place(ordo, "CHK-1"),
        "cancelled": place(ordo, "CHK-2"),
        "held": place(ordo, "CHK-3"),
        "unpaid": place(ordo, "CHK-4", payment=UNPAID),
    }
    with ordo.transaction() as uow:
        handlers.cancel(uow, number=numbers["cancelled"], actor=SYSTEM, reason="changed mind")
        handlers.hold(uow, number=numbers["held"], actor=SYSTEM, reason=HoldReason.AWAITING_CUSTOMER)
    sql(database, "UPDATE outbox SET status = 'sent'")
    return numbers


def sql(database, statement: str, **params) -> list[tuple]:
    with database.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def acknowledged(database) -> dict[str, str]:
    return dict(sql(database, "SELECT external_id, number FROM orders"))


def received(database) -> dict[str, list[str]]:
    """What receivers that got every sent message once would report."""
    got: dict[str, list[str]] = {}
    with database.engine.connect() as conn:
        for key, payload in conn.execute(text("SELECT key, payload FROM outbox WHERE status = 'sent'")):
            payload = payload if isinstance(payload, dict) else json.loads(payload)  # SQLite: text
            got.setdefault(check.channel_of(payload), []).append(key)
    return got


def run_check(database, *, acks: dict[str, str] | None = None, got: dict[str, list[str]] | None = None):
    with Session(database.engine) as session:
        return check.check(session, acknowledged=acknowledged(database) if acks is None else acks,
                           received=received(database) if got is None else got)


def add_event(database, number: str, name: str, from_state: str, to_state: str) -> None:
    sql(database, "INSERT INTO events (order_id, entity, entity_id, name, from_state, to_state, actor, data, "
                  "created_at) VALUES (:o, 'order', :o, :name, :f, :t, 'x', '{}', :at)",
        o=order_id(database, number), name=name, f=from_state, t=to_state, at="2026-03-15 02:00:00")


def order_id(database, number: str) -> int:
    return sql(database, "SELECT id FROM orders WHERE number = :n", n=number)[0][0]


def test_a_consistent_database_passes_with_its_figures(shop, database):
    report = run_check(database)

    assert report.violations == []
    counts = report.counts
    assert (counts["orders"], counts["acknowledged"], counts["stored_external_ids"]) == (4, 4, 4)
    assert counts["statuses"] == {"allocated": 1, "cancelled": 1, "on_hold": 1, "pending_payment": 1}
    # allocated and held hold one reservation each (one line of TEA-001), the cancelled one released its own
    assert (counts["shipments"], counts["open_reservations"]) == (3, 2)
    sent = sql(database, "SELECT count(*) FROM outbox")[0][0]
    assert counts["outbox"] == {"sent": sent} and sum(counts["received"].values()) == sent
    assert all(d == {"keys": 0, "extra": 0} for d in counts["duplicate_deliveries"].values())


def test_a_ledger_that_does_not_add_up_is_named(shop, database):
    sql(database, "UPDATE stock SET reserved = reserved + 1 WHERE sku_id = (SELECT id FROM skus WHERE code = 'TEA-001')"
                  " AND warehouse_id = (SELECT id FROM warehouses WHERE code = 'WH-SH')")

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("ledger.mismatch", "WH-SH/TEA-001", "open_reservations: stock says 5, open reservations say 4"),
        ("ledger.mismatch", "WH-SH/TEA-001", "reserved: stock says 5, ledger says 4"),
    ]


def test_an_illegal_step_in_the_event_log_is_named(shop, database):
    # The unpaid order "confirmed" without being paid: a step the order table does not have.
    number = shop["unpaid"]
    sql(database, "UPDATE orders SET status = 'confirmed' WHERE number = :n", n=number)
    add_event(database, number, "order.confirm", "pending_payment", "confirmed")

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("order.illegal_transition", number, "order.confirm: pending_payment→confirmed is not in the order table"),
    ]


def test_a_missing_event_is_named(shop, database):
    # The allocation's event is gone: the log leaves the order confirmed, the row says allocated.
    number = shop["allocated"]
    sql(database, "DELETE FROM events WHERE order_id = :o AND name = 'order.allocate'", o=order_id(database, number))

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("order.status_mismatch", number, "status allocated, the events lead to confirmed"),
    ]


def test_a_release_to_another_state_than_the_held_one_is_named(shop, database):
    number = shop["held"]
    oid, rid = order_id(database, number), _reservation_of(database, number)
    sql(database, "UPDATE order_holds SET released_at = :t, released_by = 'x' WHERE order_id = :o",
        o=oid, t="2026-03-15 02:00:00")
    sql(database, "UPDATE orders SET status = 'confirmed', status_before_hold = NULL WHERE id = :o", o=oid)
    add_event(database, number, "order.released", "on_hold", "confirmed")

    report = run_check(database)

    # Held from allocated, "released" to confirmed — a step the table has, but not back where it was;
    # and its shipment's reservation now belongs to an order that is not allocated.
    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("order.resumed_elsewhere", number, "held from allocated, released to confirmed"),
        ("reservation.orphaned", f"reservation {rid}", f"open for order {number}, which is confirmed"),
    ]


def _reservation_of(database, number: str) -> int:
    return sql(database, "SELECT r.id FROM reservations r JOIN orders o ON o.id = r.order_id WHERE o.number = :n",
               n=number)[0][0]


def test_a_hold_without_a_hold_row_is_named(shop, database):
    number = shop["held"]
    sql(database, "UPDATE order_holds SET released_at = :t, released_by = 'x' WHERE order_id = :o",
        o=order_id(database, number), t="2026-03-15 02:00:00")

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("order.holds", number, "status on_hold with 0 hold(s) not released"),
    ]


def _shift_tea_reserved(database, units: int) -> None:
    sql(database, "UPDATE stock SET reserved = reserved + :u"
                  " WHERE sku_id = (SELECT id FROM skus WHERE code = 'TEA-001')"
                  " AND warehouse_id = (SELECT id FROM warehouses WHERE code = 'WH-SH')", u=units)


def test_an_orphaned_reservation_is_named(shop, database):
    # The cancel "forgot" to release: the reservation stays open, the stock stays reserved and the
    # ledger has no release row — the figures add up, but nothing will ever use or free those units.
    number = shop["cancelled"]
    rid = _reservation_of(database, number)
    sql(database, "UPDATE reservations SET status = 'open' WHERE id = :r", r=rid)
    _shift_tea_reserved(database, +2)
    sql(database, "DELETE FROM stock_movements WHERE kind = 'release' AND reference = :n", n=number)

    report = run_check(database)

    shipment = f"{number}-1"
    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("reservation.orphaned", f"reservation {rid}", f"open on shipment {shipment}, which is cancelled"),
        ("reservation.orphaned", f"reservation {rid}", f"open for order {number}, which is cancelled"),
    ]


def test_a_shipment_whose_goods_are_not_reserved_is_named(shop, database):
    number = shop["allocated"]
    rid = _reservation_of(database, number)
    sql(database, "UPDATE reservations SET status = 'released' WHERE id = :r", r=rid)
    _shift_tea_reserved(database, -2)
    sql(database, "DELETE FROM stock_movements WHERE kind = 'reservation' AND reference = :n", n=number)

    report = run_check(database)

    tea = sql(database, "SELECT id FROM skus WHERE code = 'TEA-001'")[0][0]
    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("shipment.unreserved", f"{number}-1", f"SKU id {tea}: 2 on the shipment, 0 reserved"),
    ]


def tea(quantity: int) -> dict:
    total = f"{quantity * 25 + 5:.2f}"
    return {"lines": [{"sku": "TEA-001", "quantity": quantity, "unit_price": "25.00"}], "total": total,
            "payment": {"method": "alipay", "status": "paid", "amount_paid": total}}


def test_a_backorder_the_free_stock_serves_is_named_in_the_queues_order(shop, ordo, database):
    first, second = place(ordo, "CHK-5", **tea(150)), place(ordo, "CHK-6", **tea(3))
    sql(database, "UPDATE outbox SET status = 'sent'")

    def receive_unserved(quantity: int) -> None:
        # Goods booked in without the restock that serves the queue (what a forgotten one would leave).
        with ordo.transaction() as uow:
            tea_id = uow.session.scalars(select(Sku.id).where(Sku.code == "TEA-001")).one()
            warehouse = uow.session.scalars(select(Warehouse.id).where(Warehouse.code == "WH-SH")).one()
            receive(uow.session, warehouse_id=warehouse, sku_id=tea_id, quantity=quantity, actor="test",
                    at=uow.clock.now())

    report = run_check(database)
    assert (report.violations, report.counts["backordered"]) == ([], 2)
    receive_unserved(3)  # 99 free: more than the second order needs, but the first one, ahead, claims all
    assert run_check(database).violations == []
    receive_unserved(60)

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("backorder.servable", number, f"backordered, but the free stock serves TEA-001 × {quantity} after the "
                                       "claims of the orders ahead of it")
        for number, quantity in ((first, 150), (second, 3))
    ]


def test_a_backorder_note_never_served_is_named(shop, ordo, database):
    first = place(ordo, "CHK-7", **tea(150))
    sql(database, "UPDATE outbox SET status = 'sent'")
    assert run_check(database).violations == []
    # A note a restock left whose serving never ran, nor the worker's (what a lost one would leave).
    sql(database, "INSERT INTO backorder_wakeups (sku_id, created_at) "
                  "SELECT id, CURRENT_TIMESTAMP FROM skus WHERE code = 'TEA-001'")
    [note_id] = [row[0] for row in sql(database, "SELECT id FROM backorder_wakeups")]

    report = run_check(database)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("backorder.note_left", "TEA-001", f"backorder note {note_id} of TEA-001 never served")]
    assert sql(database, "SELECT status FROM orders WHERE number = :n", n=first) == [("backordered",)]


def test_lost_renumbered_and_unacknowledged_orders_are_named(shop, database):
    acks = acknowledged(database)
    acks["CHK-9"] = "20260315999"  # a client was told, nothing was stored
    acks["CHK-2"] = "20260315998"  # told another number than the one stored
    del acks["CHK-4"]  # stored, but no client was ever told

    report = run_check(database, acks=acks)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("intake.wrong_number", "CHK-2", f"acknowledged as 20260315998, stored as {shop['cancelled']}"),
        ("intake.lost", "CHK-9", "acknowledged as 20260315999, not stored"),
        ("intake.unacknowledged", "CHK-4", f"stored as {shop['unpaid']}, no client was told"),
    ]


def test_undelivered_unknown_and_duplicate_messages_are_told_apart(shop, database):
    got = received(database)
    missing, pending, dead = sorted(got["sms"])[:3]
    got["sms"] = [k for k in got["sms"] if k not in (missing, pending, dead)]
    sql(database, "UPDATE outbox SET status = 'pending', attempts = 3, last_error = 'boom' WHERE key = :k", k=pending)
    sql(database, "UPDATE outbox SET status = 'dead', attempts = 8 WHERE key = :k", k=dead)
    got["email"].append(got["email"][0])  # one e-mail delivered twice: at least once is allowed
    got["webhook"] = ["made-up-key"]

    report = run_check(database, got=got)

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [  # messages in key order
        ("outbox.pending", pending, "pending after the drain, 3 attempt(s), last error: boom"),
        ("outbox.dead", dead, "dead after the drain, 8 attempt(s), last error: None"),
        ("delivery.missing", missing, "marked sent by sms, never received"),
        ("delivery.unknown", "made-up-key", "received by webhook, not in the outbox"),
    ]
    assert report.counts["duplicate_deliveries"] == {"email": {"keys": 1, "extra": 1}, "sms": {"keys": 0, "extra": 0},
                                                     "webhook": {"keys": 0, "extra": 0}}


@pytest.mark.parametrize(
    ("steps", "problems"),
    [
        ([("order.created", None, "pending_review"), ("order.confirm", "pending_review", "confirmed"),
          ("order.allocate", "confirmed", "allocated")], []),
        ([("order.created", None, "pending_review"), ("order.allocate", "confirmed", "allocated")],
         [("broken_chain", "order.allocate from confirmed, but the log left it pending_review")]),
        ([("order.created", None, "pending_review"), ("order.created", None, "pending_review")],
         [("second_created", "order.created again in state pending_review")]),
        ([("order.created", None, "confirmed"), ("order.hold", "confirmed", "on_hold"),
          ("order.hold_added", "on_hold", "on_hold"), ("order.released", "on_hold", "confirmed")], []),
    ],
)
def test_the_replay_walks_the_order_table(steps: list[tuple], problems: list[tuple[str, str]]):
    _, _, found = check.replay([check.Step(*s) for s in steps], ORDER, check.order_trigger, created="order.created")
    assert found == problems
