"""The consistency checker of a database after a load or crash run: every violation it finds is
named (which check, which stock row / order / shipment / message, what is wrong).

    python bench/check.py --database-url URL [--acknowledged FILE] [--received FILE]

Checks:
- stock: no figure negative, reserved never above on hand; the ledger proves every figure
  (``ordo.inventory.queries.verify``: on hand and reserved are the sums of the movements,
  reserved equals the open reservations);
- the event log: every order's, shipment's and payment's current status is where its events lead
  through the transition table, each state-changing event a legal step from the state the previous
  one left (so the log has no gap and no extra step), and a released order went back to where it
  was held; an order is on hold exactly when it has a hold not released;
- intake against the clients' list (``--acknowledged``: a JSON object external id → order number,
  complete for the run): none lost, none stored twice, none stored that no client was told about;
- reservations: open ones only on a shipment that still holds its goods (allocated … handed
  over) of an order that can still ship, and every such shipment has its lines reserved;
- backorders: none is left waiting that the free stock serves — in the queue's order, each is
  planned by Ordo's own planner against what is free once the orders ahead of it have their
  claims; one that plans complete was passed by whatever freed its goods (the policy is the
  server's: ``--policy-file``); and no note of goods freed (``backorder_wakeups``) is left unserved;
- the outbox after the drain: nothing pending, sending or dead; every message marked sent reached
  its receiver (``--received``: a JSON object channel → list of keys received, one per delivery),
  and duplicate deliveries (at least once) are counted by key.

Prints one JSON line; exit 1 when any violation was found. ``check(session, …)`` is the same for
soak.py and the tests.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from ordo.adapters.db.engine import make_engine
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.states import BEFORE_HANDOVER, SHIPMENT, ShipmentStatus
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.inventory import handlers as inventory
from ordo.inventory.queries import verify
from ordo.kernel.clock import SystemClock
from ordo.kernel.statemachine import StateMachine
from ordo.notify.tables import OutboxMessage
from ordo.order.allocation import PRIORITY, Claims, needs_of, plan_order
from ordo.order.states import ORDER, PAYMENT, OrderStatus, PaymentTrigger, resume_trigger
from ordo.order.tables import BackorderWakeup, Order
from ordo.policy import Policy
from ordo.settings import Settings

# A shipment holds its goods (open reservations) from allocation until it ships.
HOLDING = frozenset({*BEFORE_HANDOVER, ShipmentStatus.HANDED_OVER})
# Orders whose shipments may hold goods; on hold only when held from "allocated".
CAN_HOLD_STOCK = frozenset({OrderStatus.ALLOCATED, OrderStatus.IN_FULFILLMENT})
# Shown per check in the printed report; the count is always complete.
SHOWN = 20


@dataclass(frozen=True)
class Violation:
    check: str  # e.g. "ledger.mismatch", "order.illegal_transition", "intake.lost"
    subject: str  # the stock row, order, shipment or message
    detail: str


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, check: str, subject: str, detail: str) -> None:
        self.violations.append(Violation(check, subject, detail))

    def summary(self) -> dict[str, Any]:
        by_check = Counter(v.check for v in self.violations)
        shown: list[dict[str, str]] = []
        per: Counter[str] = Counter()
        for v in self.violations:
            per[v.check] += 1
            if per[v.check] <= SHOWN:
                shown.append(asdict(v))
        return {"ok": self.ok, "violations": len(self.violations), "by_check": dict(sorted(by_check.items())),
                "shown": shown, "counts": self.counts}


# --- stock and ledger -----------------------------------------------------------------------------


def check_stock(session: Session, report: Report) -> None:
    rows = session.execute(text(
        "SELECT w.code, k.code, s.on_hand, s.reserved FROM stock s JOIN warehouses w ON w.id = s.warehouse_id "
        "JOIN skus k ON k.id = s.sku_id ORDER BY w.code, k.code")).all()
    for warehouse, sku, on_hand, reserved in rows:
        subject = f"{warehouse}/{sku}"
        if on_hand < 0 or reserved < 0:
            report.add("stock.negative", subject, f"on hand {on_hand}, reserved {reserved}")
        if reserved > on_hand:
            report.add("stock.oversold", subject, f"reserved {reserved} > on hand {on_hand}")
    for m in verify(session):
        report.add("ledger.mismatch", f"{m.warehouse}/{m.sku}", f"{m.figure}: stock says {m.stock}, "
                   f"{'open reservations say' if m.figure == 'open_reservations' else 'ledger says'} {m.expected}")
    report.counts["stock_rows"] = len(rows)


# --- the event log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    from_state: str | None
    to_state: str | None


def order_trigger(step: Step) -> str:
    if step.name == "order.released":
        return resume_trigger(str(step.to_state))
    return step.name.split(".", 1)[1]


def payment_trigger(step: Step) -> str:
    return {"payment.paid": PaymentTrigger.PAY}.get(step.name, step.name.split(".", 1)[1])


def replay(steps: Iterable[Step], machine: StateMachine, trigger_of: Callable[[Step], str], *,
           start: str | None = None, created: str | None = None) -> tuple[str | None, int, list[tuple[str, str]]]:
    """Walk the state-changing events through the transition table: (end state, transitions,
    problems). ``created`` names the event that sets the first state; without one the first
    transition's ``from_state`` is the start (payments: an order may arrive paid). Events that
    change no state (``from == to``, or no ``to``) are notes and are skipped; so is a repeated
    created event, which is reported."""
    state, count, problems = start, 0, []
    held_from: str | None = None
    for step in steps:
        if created is not None and step.name == created:
            if state is not None or count:
                problems.append(("second_created", f"{step.name} again in state {state}"))
            state = step.to_state
            continue
        if step.to_state is None or step.from_state == step.to_state:
            continue
        if state is None:  # no created event (the caller reports it) or payments: start where it starts
            state = step.from_state
        if step.from_state != state:
            problems.append(("broken_chain", f"{step.name} from {step.from_state}, but the log left it {state}"))
        trigger = trigger_of(step)
        target = machine.transitions.get((str(step.from_state), trigger))
        if target is None or target != step.to_state:
            problems.append(("illegal_transition", f"{step.name}: {step.from_state}→{step.to_state} is not in the "
                                                   f"{machine.entity} table"))
        if machine is ORDER:
            if step.to_state == OrderStatus.ON_HOLD:
                held_from = step.from_state
            elif trigger.startswith("resume_") and held_from is not None and step.to_state != held_from:
                problems.append(("resumed_elsewhere", f"held from {held_from}, released to {step.to_state}"))
        state, count = step.to_state, count + 1
    return state, count, problems


def _steps_by_entity(session: Session, entity: str) -> dict[int, list[Step]]:
    steps: dict[int, list[Step]] = defaultdict(list)
    for entity_id, name, from_state, to_state in session.execute(text(
            "SELECT entity_id, name, from_state, to_state FROM events WHERE entity = :e ORDER BY entity_id, id"),
            {"e": entity}):
        steps[entity_id].append(Step(name, from_state, to_state))
    return steps


def check_events(session: Session, report: Report) -> None:
    orders = session.execute(text("SELECT id, number, status, payment_status, status_before_hold FROM orders")).all()
    order_steps = _steps_by_entity(session, "order")
    payment_steps = _steps_by_entity(session, "payment")
    active_holds = dict(session.execute(text(
        "SELECT order_id, count(*) FROM order_holds WHERE released_at IS NULL GROUP BY order_id")).all())
    transitions = 0
    for order_id, number, status, payment_status, before_hold in orders:
        steps = order_steps.get(order_id, [])
        if not any(s.name == "order.created" for s in steps):
            report.add("order.no_created_event", number, "no order.created event")
        end, count, problems = replay(steps, ORDER, order_trigger, created="order.created")
        transitions += count
        for kind, detail in problems:
            report.add(f"order.{kind}", number, detail)
        if end != status:
            report.add("order.status_mismatch", number, f"status {status}, the events lead to {end}")
        held = active_holds.get(order_id, 0)
        if (status == OrderStatus.ON_HOLD) != bool(held):
            report.add("order.holds", number, f"status {status} with {held} hold(s) not released")
        if status == OrderStatus.ON_HOLD and before_hold is None:
            report.add("order.holds", number, "on hold without the state to return to")
        if payment_steps.get(order_id):
            end, _, problems = replay(payment_steps[order_id], PAYMENT, payment_trigger)
            for kind, detail in problems:
                report.add(f"payment.{kind}", number, detail)
            if end != payment_status:
                report.add("payment.status_mismatch", number, f"payment {payment_status}, the events lead to {end}")
    shipments = session.execute(text("SELECT id, number, status FROM shipments")).all()
    shipment_steps = _steps_by_entity(session, "shipment")
    for shipment_id, number, status in shipments:
        end, count, problems = replay(shipment_steps.get(shipment_id, []), SHIPMENT, lambda s: s.name.split(".", 1)[1],
                                      created="shipment.created")
        transitions += count
        for kind, detail in problems:
            report.add(f"shipment.{kind}", number, detail)
        if end != status:
            report.add("shipment.status_mismatch", number, f"status {status}, the events lead to {end}")
    report.counts |= {"orders": len(orders), "shipments": len(shipments), "transitions": transitions,
                      "statuses": dict(sorted(Counter(o.status for o in orders).items()))}


# --- intake against what the clients were told ---------------------------------------------------


def check_acknowledged(session: Session, report: Report, acknowledged: Mapping[str, str]) -> None:
    """``acknowledged``: external id → order number, every order a client was answered for (the run
    used one shop, or external ids unique over its shops)."""
    stored: dict[str, list[str]] = defaultdict(list)
    for external_id, number in session.execute(text("SELECT external_id, number FROM orders ORDER BY id")):
        stored[external_id].append(number)
    for external_id, number in sorted(acknowledged.items()):
        found = stored.get(external_id, [])
        if not found:
            report.add("intake.lost", external_id, f"acknowledged as {number}, not stored")
        elif number not in found:
            report.add("intake.wrong_number", external_id, f"acknowledged as {number}, stored as {', '.join(found)}")
    for external_id, numbers in sorted(stored.items()):
        if len(numbers) > 1:
            report.add("intake.duplicated", external_id, f"stored {len(numbers)} times: {', '.join(numbers)}")
        if external_id not in acknowledged:
            report.add("intake.unacknowledged", external_id, f"stored as {numbers[0]}, no client was told")
    report.counts |= {"acknowledged": len(acknowledged), "stored_external_ids": len(stored)}


# --- reservations -----------------------------------------------------------------------------------


def check_reservations(session: Session, report: Report) -> None:
    rows = session.execute(text(
        "SELECT r.id, r.order_id, r.sku_id, r.quantity, s.id, s.number, s.status, s.order_id, o.number, o.status, "
        "o.status_before_hold FROM reservations r LEFT JOIN shipments s ON s.id = r.shipment_id "
        "LEFT JOIN orders o ON o.id = r.order_id WHERE r.status = 'open' ORDER BY r.id")).all()
    reserved: Counter[tuple[int, int]] = Counter()
    for rid, order_id, sku_id, quantity, shipment_id, shipment, s_status, s_order, number, o_status, before in rows:
        subject = f"reservation {rid}"
        if shipment_id is None:
            report.add("reservation.no_shipment", subject, f"open for order {number}, its shipment does not exist")
            continue
        reserved[(shipment_id, sku_id)] += quantity
        if s_order != order_id:
            report.add("reservation.wrong_order", subject, f"order {number}, shipment {shipment} of another order")
        if s_status not in HOLDING:
            report.add("reservation.orphaned", subject, f"open on shipment {shipment}, which is {s_status}")
        held_allocated = o_status == OrderStatus.ON_HOLD and before == OrderStatus.ALLOCATED
        if o_status not in CAN_HOLD_STOCK and not held_allocated:
            report.add("reservation.orphaned", subject, f"open for order {number}, which is {o_status}")
    lines = session.execute(
        select(Shipment.id, Shipment.number, ShipmentLine.sku_id, func.sum(ShipmentLine.quantity))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id).where(Shipment.status.in_(sorted(HOLDING)))
        .group_by(Shipment.id, Shipment.number, ShipmentLine.sku_id).order_by(Shipment.id)).all()
    for shipment_id, number, sku_id, quantity in lines:
        if reserved.get((shipment_id, sku_id), 0) != quantity:
            report.add("shipment.unreserved", number, f"SKU id {sku_id}: {quantity} on the shipment, "
                       f"{reserved.get((shipment_id, sku_id), 0)} reserved")
    report.counts["open_reservations"] = len(rows)


# --- backorders -------------------------------------------------------------------------------------


def check_backorders(session: Session, report: Report, policy: Policy) -> None:
    uow = UnitOfWork(session=session, policy=policy, clock=SystemClock())
    queue = session.scalars(select(Order).where(Order.status == OrderStatus.BACKORDERED).order_by(*PRIORITY)
                            .options(selectinload(Order.lines))).all()
    claims: Claims = {}
    for order in queue:
        needs = needs_of(order)
        if plan_order(uow, order, dict(claims), inventory.available(session, sorted(needs))).complete:
            wanted = ", ".join(f"{line.sku_code} × {line.quantity}" for line in order.lines)
            report.add("backorder.servable", order.number, f"backordered, but the free stock serves {wanted} "
                       "after the claims of the orders ahead of it")
        for sku_id, quantity in needs.items():
            claims[sku_id] = claims.get(sku_id, 0) + quantity
    report.counts["backordered"] = len(queue)
    # A note is deleted by the serving of its goods; one left after the drain was never served.
    notes = select(BackorderWakeup.id, Sku.code).join(Sku, Sku.id == BackorderWakeup.sku_id)
    for note_id, code in session.execute(notes.order_by(BackorderWakeup.id)):
        report.add("backorder.note_left", code, f"backorder note {note_id} of {code} never served")


# --- the outbox and what the receivers got --------------------------------------------------------


def channel_of(payload: Mapping[str, Any]) -> str:
    """The channel the worker uses (``notify.worker.route``): the payload's, else staff e-mail."""
    return str(payload["channel"]) if "channel" in payload and "to" in payload else "email"


def check_outbox(session: Session, report: Report, received: Mapping[str, list[str]] | None) -> None:
    rows = session.execute(select(OutboxMessage.key, OutboxMessage.status, OutboxMessage.payload,
                                  OutboxMessage.attempts, OutboxMessage.last_error).order_by(OutboxMessage.key)).all()
    statuses = Counter(r.status for r in rows)
    for key, status, _payload, attempts, error in rows:
        if status != "sent":
            report.add(f"outbox.{status}", key, f"{status} after the drain, {attempts} attempt(s), last error: {error}")
    report.counts["outbox"] = dict(sorted(statuses.items()))
    report.counts["outbox_attempts"] = sum(r.attempts for r in rows)
    if received is None:
        return
    got = {channel: Counter(keys) for channel, keys in received.items()}
    sent: dict[str, str] = {}
    for key, status, payload, _, _ in rows:
        if status == "sent":
            sent[key] = channel_of(payload)
            if not got.get(sent[key], Counter()).get(key):
                report.add("delivery.missing", key, f"marked sent by {sent[key]}, never received")
    known = {r.key for r in rows}
    for channel, keys in sorted(got.items()):
        for key in sorted(set(keys) - known):
            report.add("delivery.unknown", key, f"received by {channel}, not in the outbox")
    report.counts["received"] = {c: sum(k.values()) for c, k in sorted(got.items())}
    report.counts["duplicate_deliveries"] = {c: {"keys": sum(1 for n in k.values() if n > 1),
                                                 "extra": sum(n - 1 for n in k.values() if n > 1)}
                                             for c, k in sorted(got.items())}


def check(session: Session, *, acknowledged: Mapping[str, str] | None = None,
          received: Mapping[str, list[str]] | None = None, policy: Policy | None = None) -> Report:
    report = Report()
    check_stock(session, report)
    check_events(session, report)
    if acknowledged is not None:
        check_acknowledged(session, report, acknowledged)
    check_reservations(session, report)
    check_backorders(session, report, policy or Policy())
    check_outbox(session, report, received)
    return report


def check_url(url: str, **kwargs: Any) -> Report:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return check(session, **kwargs)
    finally:
        engine.dispose()


app = typer.Typer(add_completion=False)


@app.command()
def main(database_url: str = typer.Option(..., help="SQLAlchemy URL of the database to check"),
         acknowledged: Path | None = typer.Option(None, help="JSON object: external id → order number"),
         received: Path | None = typer.Option(None, help="JSON object: channel → keys received"),
         policy_file: Path | None = typer.Option(None, help="the server's policy file (ORDO_POLICY_FILE)")) -> None:
    report = check_url(database_url,
                       acknowledged=json.loads(acknowledged.read_text()) if acknowledged else None,
                       received=json.loads(received.read_text()) if received else None,
                       policy=Settings(policy_file=policy_file).load_policy())
    print(json.dumps({"check": "soak", **report.summary()}, ensure_ascii=False))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    app()
