"""Regression, found by bench/soak.py (a 500 on POST /review/orders/{number}/claim, PostgreSQL "deadlock
detected"): a claim beside another command on the same order.

Every order command locks the order row first (``load_order(..., for_update=True)``) and then
touches its review case (approve, reject, cancel, hold release: ``screening.close_case`` and
friends). ``review.handlers.claim`` did it the other way round: it loads the order without a lock,
updates the review case (row lock), and then inserts its ``review.claimed`` event, whose foreign key
to ``orders`` takes a KEY SHARE lock on the order row — which waits for the command's FOR UPDATE,
while the command waits for the case row. PostgreSQL broke the cycle by aborting one of them.
Fixed: the claim locks the order row first.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from ordo.auth.model import Actor, Role
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.review import handlers as review
from tests.factories import order_payload, seed, side_by_side, wait_for_lock_waiters

REVIEWER = Actor(name="rev-1", roles=frozenset({Role.REVIEWER}))


def test_a_claim_beside_a_command_on_the_same_order_does_not_deadlock(ordo, database):
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks to take in the wrong order")
    seed(ordo)
    # Given an order in the review queue (a virtual operator's phone number).
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(
        external_id="DEADLOCK-1", customer={"name": "张伟", "phone": "17012345678"})), actor=Actor.system())
    with database.engine.connect() as conn:
        order_id, status = conn.execute(text(
            "SELECT o.id, c.status FROM orders o JOIN review_cases c ON c.order_id = o.id WHERE o.number = :n"),
            {"n": number}).one()
    assert status == "open"

    order_locked = threading.Event()

    def command() -> None:
        """What approve, reject, cancel … do: the order row first, then its review case."""
        with database.engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT id FROM orders WHERE id = :o FOR UPDATE"), {"o": order_id})
            order_locked.set()
            wait_for_lock_waiters(database.engine, what="the claim")  # the claim waits for a lock
            conn.execute(text("UPDATE review_cases SET decision_note = 'x' WHERE order_id = :o"), {"o": order_id})

    def claim() -> None:
        order_locked.wait(10)
        with ordo.transaction() as uow:
            review.claim(uow, number=number, actor=REVIEWER)

    failures = side_by_side({"command": command, "claim": claim})

    # Then both go through, one after the other (the claim waits for the order, as every command does).
    assert failures == []
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT claimed_by FROM review_cases WHERE order_id = :o"),
                            {"o": order_id}).scalar() == "rev-1"
