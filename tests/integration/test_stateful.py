"""A hypothesis state machine drives orders through random sequences of commands (intake, payment,
review, holds, cancellation, picking, stock receipts) on SQLite and PostgreSQL, and checks the
invariants after every step: stock never negative and never reserved beyond on hand, the stock
figures equal the ledger and the open reservations, and every order's state is the end of a chain of
legal transitions recorded one event each."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.fulfillment.scanning import stage_state
from ordo.fulfillment.schemas import ScanStage
from ordo.fulfillment.states import ShipmentStatus, ShipmentTrigger
from ordo.fulfillment.tables import Shipment
from ordo.inventory.queries import verify
from ordo.kernel.clock import FixedClock
from ordo.kernel.errors import OrdoError
from ordo.order import handlers
from ordo.order.model import OrderSubmission
from ordo.order.states import ORDER, HoldReason, OrderTrigger, resume_trigger
from ordo.order.tables import Order
from ordo.review import handlers as review
from ordo.settings import Settings
from tests.conftest import T0
from tests.factories import order_payload, scan_all, seed

SYSTEM = Actor.system()
PRICES = {"TEA-001": "25.00", "MUG-002": "39.90"}


def replay(events: list[Event]) -> tuple[str | None, int]:
    """Walk an order's state-changing events through the transition table; (end state, steps)."""
    state, steps = None, 0
    for e in events:
        if e.name == "order.created":
            state = e.to_state
            continue
        if e.from_state == e.to_state:
            continue  # a note (a second hold, a review step), not a transition
        trigger = resume_trigger(e.to_state) if e.name == "order.released" else OrderTrigger(e.name.split(".", 1)[1])
        assert e.from_state == state, (e.name, e.from_state, state)
        assert ORDER.fire(state, trigger) == e.to_state, (e.name, state, e.to_state)
        state, steps = e.to_state, steps + 1
    return state, steps


class OrderLife(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self, database) -> None:
        super().__init__()
        self.database = database
        database.empty()
        self.clock = FixedClock(T0)
        self.app = Ordo(Settings(database_url=database.url), clock=self.clock, engine=database.engine)
        seed(self.app, stock=6)
        self.count = 0

    def _try(self, command) -> None:
        try:
            with self.app.transaction() as uow:
                command(uow)
        except OrdoError:
            pass  # refused (illegal in this state, already so, …): nothing may have changed

    @initialize()
    def start(self) -> None:
        self.clock.advance(timedelta(minutes=1))

    @rule(target=orders, sku=st.sampled_from(sorted(PRICES)), quantity=st.integers(1, 4),
          payment=st.sampled_from(["paid", "unpaid", "cod"]), same_buyer=st.booleans())
    def place(self, sku, quantity, payment, same_buyer):
        self.count += 1
        price = float(PRICES[sku])
        total = f"{price * quantity + 5:.2f}"
        pay = {"paid": {"method": "alipay", "status": "paid", "amount_paid": total},
               "unpaid": {"method": "alipay", "status": "unpaid", "amount_paid": "0"},
               "cod": {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}}[payment]
        changes = {"customer": {"name": "同一人", "phone": "13811112222"}} if same_buyer else {}
        payload = order_payload(external_id=f"SM-{self.count}", lines=[
            {"sku": sku, "quantity": quantity, "unit_price": PRICES[sku]}], total=total, payment=pay, **changes)
        number, _ = handlers.intake(self.app, submission=OrderSubmission.model_validate(payload), actor=SYSTEM)
        self.clock.advance(timedelta(minutes=7))
        return number

    @rule(number=orders)
    def pay(self, number):
        self._try(lambda uow: handlers.pay(uow, number=number, actor=SYSTEM))

    @rule(number=orders)
    def approve(self, number):
        self._try(lambda uow: review.approve(uow, number=number, actor=SYSTEM))

    @rule(number=orders)
    def reject(self, number):
        self._try(lambda uow: review.reject(uow, number=number, actor=SYSTEM, reason="test"))

    @rule(number=orders, reason=st.sampled_from([HoldReason.AWAITING_CUSTOMER, HoldReason.OTHER]))
    def hold(self, number, reason):
        self._try(lambda uow: handlers.hold(uow, number=number, actor=SYSTEM, reason=reason))

    @rule(number=orders, reason=st.sampled_from(list(HoldReason)))
    def release(self, number, reason):
        self._try(lambda uow: handlers.release(uow, number=number, actor=SYSTEM, reason=reason))

    @rule(number=orders)
    def cancel(self, number):
        self._try(lambda uow: handlers.cancel(uow, number=number, actor=SYSTEM, reason="test"))

    @rule(number=orders, trigger=st.sampled_from([ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK]),
          scanned=st.booleans())
    def pick(self, number, trigger, scanned):
        if trigger == ShipmentTrigger.FINISH_PICK and scanned:
            scan_all(self.app, number, "pick")  # without the scans finish_pick is refused
        self._try(lambda uow: handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM))

    @rule(sku=st.sampled_from(sorted(PRICES)), quantity=st.integers(1, 5))
    def receive(self, sku, quantity):
        from ordo.inventory.schemas import StockReceiptIn
        from ordo.inventory.warehouses import receive_stock

        self._try(lambda uow: receive_stock(uow, receipt=StockReceiptIn(warehouse="WH-SH", sku=sku,
                                                                        quantity=quantity), actor=SYSTEM))

    @invariant()
    def picked_shipments_were_scanned(self):
        with self.app.reading() as uow:
            for shipment in uow.session.scalars(select(Shipment).where(Shipment.status == ShipmentStatus.PICKED)):
                assert stage_state(uow.session, shipment, ScanStage.PICK).sheet.missing() == {}

    @invariant()
    def stock_is_sound(self):
        with self.database.engine.connect() as conn:
            bad = conn.execute(text("SELECT count(*) FROM stock WHERE reserved < 0 OR reserved > on_hand")).scalar()
        assert bad == 0
        with self.app.reading() as uow:
            assert verify(uow.session) == []

    @invariant()
    def every_state_was_reached_legally(self):
        with self.app.reading() as uow:
            for order in uow.session.scalars(select(Order)):
                events = uow.session.scalars(
                    select(Event).where(Event.order_id == order.id, Event.entity == "order").order_by(Event.id)
                ).all()
                end, steps = replay(list(events))
                assert end == order.status, (order.number, end, order.status)
                changes = [e for e in events if e.name != "order.created" and e.from_state != e.to_state]
                assert steps == len(changes)


def test_random_command_sequences_keep_the_invariants(database):
    run_state_machine_as_test(
        lambda: OrderLife(database),
        # A few sequences in `make test`; ORDO_STATEFUL_EXAMPLES=500 for a long run.
        settings=settings(max_examples=int(os.environ.get("ORDO_STATEFUL_EXAMPLES", "6")), stateful_step_count=20,
                          deadline=None, suppress_health_check=list(HealthCheck)),
    )


@pytest.mark.parametrize(
    ("names", "ok"),
    [
        ([("order.created", None, "pending_payment"), ("order.pay", "pending_payment", "pending_review")], True),
        ([("order.created", None, "pending_payment"), ("order.ship", "pending_payment", "shipped")], False),
    ],
)
def test_the_replay_itself_refuses_an_illegal_chain(names, ok):
    events = [Event(name=n, from_state=f, to_state=t) for n, f, t in names]
    if ok:
        assert replay(events) == ("pending_review", 1)
    else:
        with pytest.raises(Exception):  # noqa: B017 - IllegalTransition or the assertion
            replay(events)
