"""Allocation across warehouses on both databases: one warehouse when it can, the fewest otherwise,
cold-chain goods apart, the shortage per line when nothing fits; the ledger adds up afterwards."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.inventory.handlers import receive
from ordo.inventory.queries import verify
from ordo.inventory.tables import Stock, Warehouse
from tests.factories import order_payload, seed, user_token


def client_for(ordo):
    seed(ordo)
    c = TestClient(create_app(ordo))
    c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
    return c


def stock(ordo, warehouse: str, sku: str, quantity: int) -> None:
    with ordo.transaction() as uow:
        w = uow.session.scalars(select(Warehouse.id).where(Warehouse.code == warehouse)).one()
        s = uow.session.scalars(select(Sku.id).where(Sku.code == sku)).one()
        receive(uow.session, warehouse_id=w, sku_id=s, quantity=quantity, actor="test", at=uow.clock.now())


def levels(ordo, sku: str) -> dict[str, tuple[int, int]]:
    with ordo.reading() as uow:
        rows = uow.session.execute(
            select(Warehouse.code, Stock.on_hand, Stock.reserved)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id).join(Sku, Sku.id == Stock.sku_id)
            .where(Sku.code == sku)
        ).all()
    return {code: (on_hand, reserved) for code, on_hand, reserved in rows}


def big_tea(quantity: int, external_id: str = "SPLIT-1"):
    total = f"{quantity * 25 + 5:.2f}"
    lines = [{"sku": "TEA-001", "quantity": quantity, "unit_price": "25.00"}]
    return order_payload(external_id=external_id, lines=lines, total=total,
                         payment={"method": "alipay", "status": "paid", "amount_paid": total})


def test_an_order_no_single_warehouse_holds_is_split_over_the_fewest(ordo):
    client = client_for(ordo)
    stock(ordo, "WH-BJ", "TEA-001", 30)
    order = client.post("/api/v1/orders", json=big_tea(120)).json()
    assert order["status"] == "allocated"
    assert sorted((s["warehouse"], [(line["sku"], line["quantity"]) for line in s["lines"]])
                  for s in order["shipments"]) == [("WH-BJ", [("TEA-001", 20)]), ("WH-SH", [("TEA-001", 100)])]
    allocated = next(e for e in order["events"] if e["name"] == "order.allocate")
    assert allocated["data"]["shipments"] == [
        {"warehouse": "WH-SH", "reason": "WH-SH: region 上海, priority 10, one of 2"},
        {"warehouse": "WH-BJ", "reason": "WH-BJ: priority 20, one of 2"},
    ]
    assert levels(ordo, "TEA-001") == {"WH-SH": (100, 100), "WH-BJ": (30, 20), "WH-LA": (100, 0)}
    cancelled = client.post(f"/api/v1/orders/{order['number']}/cancel", json={"reason": "test"})
    assert cancelled.status_code == 200
    assert levels(ordo, "TEA-001") == {"WH-SH": (100, 0), "WH-BJ": (30, 0), "WH-LA": (100, 0)}
    with ordo.reading() as uow:
        assert verify(uow.session) == []


def test_one_warehouse_is_preferred_when_it_holds_everything(ordo):
    client = client_for(ordo)
    stock(ordo, "WH-BJ", "TEA-001", 500)
    order = client.post("/api/v1/orders", json=big_tea(120)).json()
    assert [s["warehouse"] for s in order["shipments"]] == ["WH-BJ"]


def test_short_stock_backorders_with_the_shortage_per_line(ordo):
    client = client_for(ordo)
    stock(ordo, "WH-BJ", "TEA-001", 30)
    order = client.post("/api/v1/orders", json=big_tea(180)).json()
    assert (order["status"], order["shipments"]) == ("backordered", [])
    event = next(e for e in order["events"] if e["name"] == "order.backorder")
    assert event["data"] == {"shortage": {"1:TEA-001": 50}}
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 0)
