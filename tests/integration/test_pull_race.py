"""Regression: the tracking pull beside an order action deadlocked on PostgreSQL.

``shipping.handlers.pull_tracking`` took the shipments' orders one after the other in one
transaction, each with a plain FOR UPDATE, and shipped what the carrier had picked up — consuming
the shipment's reservation, i.e. updating its stock row — before it went on to the next order:

    pull                                     ship of order B (an order action)
    locks order A, ships A: stock row TEA    locks order B
    waits for order B                        ships B: waits for stock row TEA

The global lock order (docs/architecture.md) is orders first, then stock rows in (warehouse, SKU)
order — and a background job that finds its orders through rows hanging off them never waits for
an order command. Fixed: the pull asks the carriers first (no lock held), then takes the orders it
will update in id order without waiting (``order.lifecycle.lock_orders_not_busy``), reports those a
command holds as ``busy`` for the next pull, and locks the stock rows of the shipments it may ship
in key order before it takes any event in.

Each case pauses one side where it holds its first locks until the other side waits for a lock (or
is done), so the interleaving is forced, not hoped for. SQLite runs one writer at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from ordo.adapters.carriers.base import CarrierEvent, FakeCarrier
from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.order import handlers as orders
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.shipping import handlers as shipping
from tests.conftest import T0
from tests.factories import handed_over, side_by_side, wait_for_lock_waiters, with_carriers

SYSTEM = Actor.system()
LOGISTICS = Actor(name="lena", roles=frozenset({Role.LOGISTICS}))
H = timedelta(hours=1)


@pytest.fixture
def fake() -> FakeCarrier:
    return FakeCarrier(code="yto")


@pytest.fixture
def app(database, clock, fake) -> Ordo:
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    return with_carriers(database, clock, {"yto": fake})


def rows(database, sql: str) -> list[tuple]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def pause_once(monkeypatch, module, name: str, *, until: Callable[[], None],
               only: Callable[[], bool] = lambda: True) -> threading.Event:
    """The first call of ``module.name`` for which ``only()`` holds returns once ``until()`` returns;
    the event returned is set when that call has done its work."""
    real, first = getattr(module, name), threading.Event()

    def paused(*args, **kwargs):
        result = real(*args, **kwargs)
        if only() and not first.is_set():
            first.set()
            until()
        return result

    monkeypatch.setattr(module, name, paused)
    return first


ORDERINGS = ["the order action holds its order", "the pull holds its orders"]


@pytest.mark.parametrize("first", ORDERINGS)
def test_a_tracking_pull_beside_an_order_action_does_not_deadlock(app, database, clock, fake, monkeypatch, first):
    # Given two parcels of tea from WH-SH handed over (A then B), both picked up by the carrier at T0 + 1 h.
    a, b = handed_over(app, "PULL-A"), handed_over(app, "PULL-B")
    for number in ("FAKE000001", "FAKE000002"):
        fake.events[number] = [CarrierEvent(number, "in_transit", T0 + H, location="上海")]
    clock.advance(2 * H)
    pull_done, ship_done, command_thread = threading.Event(), threading.Event(), []
    pulled: list[shipping.PullOutcome] = []

    def pull() -> None:
        try:
            with app.transaction() as uow:
                pulled.append(shipping.pull_tracking(uow))
        finally:
            pull_done.set()

    def ship_b() -> None:
        """Logistics ships B by hand, with its booking (the order action ``ship``)."""
        command_thread.append(threading.get_ident())
        try:
            with app.transaction() as uow:
                perform(uow, number=b, action=OrderAction.SHIP, body=ActionIn(), actor=LOGISTICS)
        finally:
            ship_done.set()

    # When the pull runs while the order action holds B (or the action while the pull holds its
    # orders), the side first in pausing there until the other one waits for a lock or is done.
    if first == ORDERINGS[0]:
        locked = pause_once(monkeypatch, orders, "load_order", only=lambda: threading.get_ident() in command_thread,
                            until=lambda: wait_for_lock_waiters(database.engine, what="the pull", unless=pull_done))
        failures = side_by_side({"ship": ship_b, "pull": lambda: (locked.wait(10), pull())})
    else:
        took = pause_once(monkeypatch, shipping, "_take",
                          until=lambda: wait_for_lock_waiters(database.engine, what="the ship", unless=ship_done))
        failures = side_by_side({"pull": pull, "ship": lambda: (took.wait(10), ship_b())})

    # Then neither waits for the other in a cycle, and each parcel is shipped once.
    if first == ORDERINGS[0]:
        # The pull leaves B, which the action holds, for its next round; the action ships B.
        assert failures == []
        assert pulled == [shipping.PullOutcome(stored=1, duplicates=0, failed=[], busy=[b])]
        shipped_by = [(a, "system", T0 + H), (b, "lena", T0 + 2 * H)]
    else:
        # The action waits for B until the pull has shipped both; then B is no longer handed over.
        assert failures == [("ship", "IllegalTransition", "illegal_transition")]
        assert pulled == [shipping.PullOutcome(stored=2, duplicates=0, failed=[], busy=[])]
        shipped_by = [(a, "system", T0 + H), (b, "system", T0 + H)]
    assert rows(database, """
        SELECT o.number, e.actor, e.created_at FROM events e JOIN orders o ON o.id = e.order_id
         WHERE e.name = 'shipment.ship' ORDER BY o.number""") == shipped_by
    assert rows(database, "SELECT number, status FROM orders ORDER BY number") == [(a, "shipped"), (b, "shipped")]
    assert rows(database, """
        SELECT w.code, k.code, s.on_hand, s.reserved FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
          JOIN skus k ON k.id = s.sku_id WHERE k.code = 'TEA-001' AND w.code = 'WH-SH'""") == [
        ("WH-SH", "TEA-001", 96, 0)]  # two teas each
    assert rows(database, "SELECT count(*) FROM stock_movements WHERE kind = 'shipment'") == [(2,)]

    # And the next pull takes in what is left: B's pick-up scan, now a plain movement (or a duplicate).
    with app.transaction() as uow:
        again = shipping.pull_tracking(uow)
    if first == ORDERINGS[0]:
        assert again == shipping.PullOutcome(stored=1, duplicates=1, failed=[], busy=[])
    else:
        assert again == shipping.PullOutcome(stored=0, duplicates=2, failed=[], busy=[])
    assert rows(database, "SELECT tracking_number, kind FROM tracking_events ORDER BY tracking_number") == [
        ("FAKE000001", "in_transit"), ("FAKE000002", "in_transit")]
