"""A command whose transaction the database broke off (a deadlock's victim) is run again from the
start (``Ordo.run``), unless it asked a carrier for something a rollback cannot take back.

Found by bench/soak.py: a cancel answered 500 ("deadlock detected") while restocks served the
backorder queue; nothing was saved, but the clerk was told the cancel failed. The rows here are
taken in opposite orders on purpose, so that PostgreSQL must pick a victim."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import pytest
from sqlalchemy import text

from ordo.bootstrap import UnitOfWork
from tests.factories import seed, side_by_side

STOCK = 10


def _setup(ordo, database) -> tuple[tuple[int, int], tuple[int, int]]:
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: two transactions cannot deadlock")
    seed(ordo, stock=STOCK)
    return _rows(ordo)


def _rows(ordo) -> tuple[tuple[int, int], tuple[int, int]]:
    """The first two stock rows (warehouse id, SKU id)."""
    with ordo.reading() as uow:
        rows = uow.session.execute(text("SELECT warehouse_id, sku_id FROM stock ORDER BY warehouse_id, sku_id "
                                        "LIMIT 2")).all()
    return (rows[0][0], rows[0][1]), (rows[1][0], rows[1][1])


def _on_hand(ordo, row: tuple[int, int]) -> int:
    with ordo.reading() as uow:
        return int(uow.session.execute(text("SELECT on_hand FROM stock WHERE warehouse_id = :w AND sku_id = :s"),
                                       {"w": row[0], "s": row[1]}).scalar_one())


def _crosswise(ordo, database, *, ask_carrier: bool = False) -> tuple[Counter[str], list[tuple[str, str, str]]]:
    """Two commands each add a unit to two stock rows, in opposite orders, both holding their first
    row before either asks for its second; how often each command ran, and what failed."""
    a, b = _setup(ordo, database)
    tries: Counter[str] = Counter()
    both_hold_one = threading.Barrier(2, timeout=10)
    # A try after the first waits for the other command to end: else it may take its first row
    # again before the survivor, woken by the victim's rollback, gets that row — a second deadlock,
    # whose victim may be the survivor (both then run twice; both still keep their writes).
    ended = {"a-then-b": threading.Event(), "b-then-a": threading.Event()}
    other = {"a-then-b": "b-then-a", "b-then-a": "a-then-b"}

    def add_one(uow: UnitOfWork, row: tuple[int, int]) -> None:
        uow.session.execute(text("UPDATE stock SET on_hand = on_hand + 1 WHERE warehouse_id = :w AND sku_id = :s"),
                            {"w": row[0], "s": row[1]})

    def command(uow: UnitOfWork, *, name: str, first: tuple[int, int], second: tuple[int, int]) -> None:
        tries[name] += 1
        if tries[name] > 1:
            ended[other[name]].wait(10)
        if ask_carrier:
            uow.carriers.get("sf")
        add_one(uow, first)
        if tries[name] == 1:
            both_hold_one.wait()
        add_one(uow, second)

    def run(name: str, first: tuple[int, int], second: tuple[int, int]) -> None:
        try:
            ordo.run(command, name=name, first=first, second=second)
        finally:
            ended[name].set()

    failures = side_by_side({"a-then-b": lambda: run("a-then-b", a, b), "b-then-a": lambda: run("b-then-a", b, a)})
    return tries, failures


def test_the_deadlock_victim_is_run_again_and_both_commands_keep_their_writes(ordo, database, caplog):
    caplog.set_level(logging.WARNING, logger="ordo.bootstrap")
    tries, failures = _crosswise(ordo, database)
    assert failures == []
    assert sorted(tries.values()) == [1, 2]  # the victim ran twice, the other once
    a, b = _rows(ordo)
    assert (_on_hand(ordo, a), _on_hand(ordo, b)) == (STOCK + 2, STOCK + 2)
    assert [r.getMessage() for r in caplog.records] == ["transaction broken off (40P01); try 2 of 3"]


def test_with_one_attempt_the_victim_fails_and_keeps_nothing(ordo, database):
    ordo.settings.transaction_attempts = 1
    tries, failures = _crosswise(ordo, database)
    assert tries == Counter({"a-then-b": 1, "b-then-a": 1})
    assert [(kind, message.split(":")[0]) for _, kind, message in failures] == [
        ("OperationalError", "(psycopg.errors.DeadlockDetected) deadlock detected")]
    a, b = _rows(ordo)
    assert (_on_hand(ordo, a), _on_hand(ordo, b)) == (STOCK + 1, STOCK + 1)  # only the survivor's units


def test_a_command_that_asked_a_carrier_is_not_run_again(ordo, database):
    tries, failures = _crosswise(ordo, database, ask_carrier=True)
    assert tries == Counter({"a-then-b": 1, "b-then-a": 1})
    assert [kind for _, kind, _ in failures] == ["OperationalError"]
    a, b = _rows(ordo)
    assert (_on_hand(ordo, a), _on_hand(ordo, b)) == (STOCK + 1, STOCK + 1)

