"""Process entry points for the concurrency tests (module-level functions, so that they pickle under
the 'spawn' start method). Each builds its own ``Ordo`` from the database URL, like a separate
``ordo serve`` replica would, and waits on a shared barrier so that the attempts really overlap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.kernel.clock import FixedClock
from ordo.kernel.errors import IdempotencyConflict
from ordo.order.handlers import intake, submit_order
from ordo.order.model import OrderSubmission
from ordo.settings import Settings
from tests.factories import order_payload

BARRIER_TIMEOUT = 60


def one_of_tea(external_id: str) -> dict[str, Any]:
    """A paid order for one TEA-001: 25.00 + 10.00 shipping - 5.00 discount."""
    return order_payload(
        external_id=external_id,
        lines=[{"sku": "TEA-001", "quantity": 1, "unit_price": "25.00"}],
        total="30.00",
        payment={"method": "alipay", "status": "paid", "amount_paid": "30.00"},
    )


def warm_up(barrier: Any) -> int:
    """Keeps a pool worker busy until every worker has started (and imported Ordo)."""
    import os

    barrier.wait(BARRIER_TIMEOUT)
    return os.getpid()


def _app(url: str, at: datetime) -> Ordo:
    ordo = Ordo(Settings(database_url=url), clock=FixedClock(at))
    with ordo.reading():  # connect before the start line, so that the attempts overlap
        pass
    return ordo


def create_orders(url: str, at: datetime, count: int, worker: int, barrier: Any) -> list[str]:
    """``count`` orders with distinct external ids, one transaction each; returns their numbers."""
    ordo = _app(url, at)
    try:
        submissions = [
            OrderSubmission.model_validate(order_payload(external_id=f"W{worker}-{i}")) for i in range(count)
        ]
        barrier.wait(BARRIER_TIMEOUT)
        numbers = []
        for submission in submissions:
            with ordo.transaction() as uow:
                order, created = submit_order(uow, submission=submission, actor=Actor.system())
                assert created
                numbers.append(order.number)
        return numbers
    finally:
        ordo.dispose()


def reserve_one_each(url: str, at: datetime, count: int, worker: int, barrier: Any) -> list[tuple[str, str]]:
    """``count`` paid orders for one TEA-001 each (intake, review and reservation in one transaction);
    returns (number, status) of each."""
    ordo = _app(url, at)
    try:
        submissions = [OrderSubmission.model_validate(one_of_tea(f"R{worker}-{i}")) for i in range(count)]
        barrier.wait(BARRIER_TIMEOUT)
        outcomes = []
        for submission in submissions:
            with ordo.transaction() as uow:
                order, _ = submit_order(uow, submission=submission, actor=Actor.system())
                outcomes.append((order.number, order.status))
        return outcomes
    finally:
        ordo.dispose()


def submit_through_api(url: str, at: datetime, payload: dict[str, Any], worker: int, barrier: Any) -> tuple[str, bool]:
    """The HTTP layer's ``intake()`` (with its retry on a concurrent twin); returns (number, created)."""
    ordo = _app(url, at)
    try:
        submission = OrderSubmission.model_validate(payload)
        barrier.wait(BARRIER_TIMEOUT)
        return intake(ordo, submission=submission, actor=Actor.system())
    finally:
        ordo.dispose()


def submit_variant(url: str, at: datetime, payload: dict[str, Any], worker: int, barrier: Any) -> tuple[Any, ...]:
    """Like ``submit_through_api`` but each worker's payload differs (its remark); returns
    ("created" | "same", number) or ("conflict", number, fields)."""
    ordo = _app(url, at)
    try:
        submission = OrderSubmission.model_validate({**payload, "remark": f"variant {worker}"})
        barrier.wait(BARRIER_TIMEOUT)
        try:
            number, created = intake(ordo, submission=submission, actor=Actor.system())
        except IdempotencyConflict as exc:
            return ("conflict", exc.params["number"], exc.params["fields"])
        return ("created" if created else "same", number)
    finally:
        ordo.dispose()


def allocate_each(url: str, at: datetime, numbers: dict[int, list[str]], worker: int,
                  barrier: Any) -> list[tuple[str, str]]:
    """Allocate this worker's orders (multi-line, several warehouses) one transaction each;
    returns (number, status). Any error (a deadlock would be one) fails the test."""
    from ordo.order.handlers import allocate

    ordo = _app(url, at)
    try:
        barrier.wait(BARRIER_TIMEOUT)
        outcomes = []
        for number in numbers[worker]:
            with ordo.transaction() as uow:
                order = allocate(uow, number=number, actor=Actor.system())
                outcomes.append((number, order.status))
        return outcomes
    finally:
        ordo.dispose()


def receive_each(url: str, at: datetime, receipts: dict[int, list[tuple[str, str, int]]], worker: int,
                 barrier: Any) -> int:
    """Post this worker's goods receipts (warehouse, SKU, units) through the stock handler, one
    transaction each, as ``POST /stock/receipts`` does; each may serve backorders. Returns how many
    were posted. Any error (a deadlock would be one) fails the test."""
    from ordo.inventory.schemas import StockReceiptIn
    from ordo.inventory.warehouses import receive_stock

    ordo = _app(url, at)
    try:
        barrier.wait(BARRIER_TIMEOUT)
        for warehouse, sku, quantity in receipts[worker]:
            with ordo.transaction() as uow:
                receive_stock(uow, receipt=StockReceiptIn(warehouse=warehouse, sku=sku, quantity=quantity),
                              actor=Actor.system())
        return len(receipts[worker])
    finally:
        ordo.dispose()
