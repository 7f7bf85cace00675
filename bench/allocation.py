"""Allocation benchmark: plan and reserve confirmed multi-line orders across several warehouses.

    python bench/allocation.py run --orders 2000 --warehouses 6 [--database-url URL]
    python bench/allocation.py plan --orders 20000 --warehouses 6

``run`` creates the orders backordered (no stock), then receives stock spread over the warehouses
(so that some orders need a split) and times ``allocate`` per order, one transaction each.
``plan`` times the pure pipeline alone. Each prints one JSON line.
"""

from __future__ import annotations

import json
import platform
import random
import time
from decimal import Decimal

import typer
from intake import Result, scratch_database
from sqlalchemy import select

from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.inventory.allocation import AllocationRequest, Need, Pipeline
from ordo.inventory.handlers import receive
from ordo.inventory.model import WarehouseView
from ordo.inventory.tables import Warehouse
from ordo.order.handlers import allocate, submit_order
from ordo.order.model import OrderSubmission
from ordo.policy import Policy
from ordo.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True)
SKUS = 40


def _seed(ordo: Ordo, warehouses: int) -> None:
    with ordo.transaction() as uow:
        s, now = uow.session, uow.clock.now()
        s.add(Shop(code="bench", name="Bench", channel="api", created_at=now))
        s.add_all([Warehouse(code=f"WH-{i}", name=f"W{i}", kind="domestic", country="CN", region="上海" if i == 0
                             else f"R{i}", serves=[], capabilities=[], priority=10 + i) for i in range(warehouses)])
        s.add_all([Sku(code=f"A-{i:03d}", name=f"A {i}", category="bench", traits=[], price=Decimal("10.00"))
                   for i in range(SKUS)])


def _payload(rng: random.Random, i: int) -> dict[str, object]:
    skus = rng.sample(range(SKUS), rng.randint(1, 4))
    lines = [{"sku": f"A-{s:03d}", "quantity": rng.randint(1, 3), "unit_price": "10.00"} for s in skus]
    total = f"{sum(int(x['quantity']) for x in lines) * 10}.00"
    return {"shop": "bench", "external_id": f"AL-{i}", "customer": {"name": "李", "phone": f"135{i:08d}"},
            "address": {"country": "CN", "province": "上海市", "city": "上海市", "district": "浦东新区",
                        "street": f"张江路{i}号", "postcode": "201203"},
            "lines": lines, "total": total, "currency": "CNY", "service_type": "domestic_express",
            "payment": {"method": "alipay", "status": "paid", "amount_paid": total}}


@app.command()
def run(orders: int = 2000, warehouses: int = 6, database_url: str | None = None) -> None:
    rng = random.Random(11)
    with scratch_database(database_url) as url:
        ordo = Ordo(Settings(database_url=url))
        _seed(ordo, warehouses)
        actor = Actor.system()
        numbers = []
        for i in range(orders):
            with ordo.transaction() as uow:
                order, _ = submit_order(uow, submission=OrderSubmission.model_validate(_payload(rng, i)), actor=actor)
                numbers.append(order.number)
        with ordo.transaction() as uow:
            skus = uow.session.scalars(select(Sku.id)).all()
            whs = uow.session.scalars(select(Warehouse.id)).all()
            for sku in skus:  # about 80 % of the demand, spread unevenly: splits and shortages happen
                for w in whs:
                    receive(uow.session, warehouse_id=w, sku_id=sku, quantity=rng.randint(0, orders * 2 // (SKUS * 2)),
                            actor="bench", at=uow.clock.now())
        latencies, outcome = [], {"allocated": 0, "backordered": 0}
        begin = time.perf_counter()
        for number in numbers:
            t = time.perf_counter()
            with ordo.transaction() as uow:
                status = allocate(uow, number=number, actor=actor).status
            latencies.append(time.perf_counter() - t)
            outcome[status] = outcome.get(status, 0) + 1
        elapsed = time.perf_counter() - begin
        ordo.dispose()
    print(json.dumps({"bench": "allocation", "database": url.split(":", 1)[0], "warehouses": warehouses,
                      **Result(orders=orders, elapsed=elapsed, latencies=latencies).summary(), **outcome,
                      "python": platform.python_version()}), flush=True)


@app.command()
def plan(orders: int = 20_000, warehouses: int = 6) -> None:
    rng = random.Random(5)
    service = Policy().intake.service_types["domestic_express"]
    views = [WarehouseView(id=i, code=f"WH-{i}", kind="domestic", country="CN", serves=frozenset(),
                           capabilities=frozenset(), priority=10 + i, region=f"R{i}") for i in range(warehouses)]
    available = {(w.id, s): rng.randint(0, 6) for w in views for s in range(SKUS)}
    requests = [
        AllocationRequest(destination="CN", region="R1", service=service, needs=tuple(
            Need(line_id=k, sku_id=s, quantity=rng.randint(1, 4)) for k, s in enumerate(rng.sample(range(SKUS), 3))
        ))
        for _ in range(orders)
    ]
    pipeline = Pipeline(Policy().inventory)
    latencies, splits = [], 0
    begin = time.perf_counter()
    for request in requests:
        t = time.perf_counter()
        result = pipeline.plan(views, request, available)
        latencies.append(time.perf_counter() - t)
        splits += len(result.shipments) > 1
    elapsed = time.perf_counter() - begin
    print(json.dumps({"bench": "allocation_plan", "warehouses": warehouses,
                      **Result(orders=orders, elapsed=elapsed, latencies=latencies).summary(),
                      "split_orders": splits, "python": platform.python_version()}), flush=True)


if __name__ == "__main__":
    app()
