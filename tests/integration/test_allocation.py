"""Allocation across warehouses on both databases: one warehouse when it can, the fewest otherwise,
cold-chain goods apart, the shortage per line when nothing fits; the ledger adds up afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordo.audit.tables import Event
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.customer.tables import Coupon
from ordo.entrypoints.api.app import create_app
from ordo.inventory import handlers as inventory_handlers
from ordo.inventory.handlers import receive
from ordo.inventory.queries import verify
from ordo.inventory.tables import Stock, StockMovement, Warehouse
from ordo.notify.tables import OutboxMessage
from ordo.order import backorders
from ordo.order.tables import Order
from ordo.policy import InventoryPolicy, Policy
from ordo.settings import Settings
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


# --- backorders -----------------------------------------------------------------------------------


def tea(client, external_id: str, quantity: int, **changes):
    total = f"{quantity * 25 + 5:.2f}"
    payment = changes.pop("payment", {"method": "alipay", "status": "paid", "amount_paid": total})
    r = client.post("/api/v1/orders", json=order_payload(
        external_id=external_id, lines=[{"sku": "TEA-001", "quantity": quantity, "unit_price": "25.00"}],
        total=total, payment=payment, **changes))
    assert r.status_code == 201, r.text
    return r.json()


def status_of(client, number: str) -> str:
    return client.get(f"/api/v1/orders/{number}").json()["status"]


def receive_tea(client, quantity: int) -> None:
    r = client.post("/api/v1/stock/receipts", json={"warehouse": "WH-SH", "sku": "TEA-001", "quantity": quantity})
    assert r.status_code in (200, 201), r.text


def test_restock_serves_backorders_paid_then_vip_then_first_come_and_never_skips_ahead(ordo, clock):
    client = client_for(ordo)
    vip_customer = {"name": "VIP", "phone": "13700000009", "vip_level": 2}
    assert client.post("/api/v1/customers", json=vip_customer).status_code == 201
    a = tea(client, "BO-A", 80)
    clock.advance(timedelta(minutes=1))
    b = tea(client, "BO-B", 30)
    clock.advance(timedelta(minutes=1))
    vip = tea(client, "BO-D", 25, customer={"name": "VIP", "phone": "13700000009"})
    clock.advance(timedelta(minutes=1))
    small = tea(client, "BO-E", 5)  # would fit in the 20 left, but earlier orders wait for the same goods
    assert [status_of(client, o["number"]) for o in (a, b, vip, small)] == [
        "allocated", "backordered", "backordered", "backordered",
    ]
    shortages = [next(e for e in client.get(f"/api/v1/orders/{o['number']}").json()["events"]
                      if e["name"] == "order.backorder")["data"] for o in (b, vip, small)]
    assert shortages == [
        {"shortage": {"1:TEA-001": 10}},  # 20 left of 30
        {"shortage": {"1:TEA-001": 5}},  # the VIP is ahead of B in the queue: B's claim is not in its way
        {"behind": [vip["number"], b["number"]], "shortage": {"1:TEA-001": 5}},  # in the queue's order
    ]

    receive_tea(client, 5)  # 25 available: enough for the VIP only; first come would serve nobody (B wants 30)
    assert [status_of(client, o["number"]) for o in (b, vip, small)] == ["backordered", "allocated", "backordered"]
    receive_tea(client, 35)  # 35 available: B 30, then the small 5
    assert [status_of(client, o["number"]) for o in (b, vip, small)] == ["allocated", "allocated", "allocated"]
    with ordo.reading() as uow:
        allocated_in_turn = uow.session.scalars(
            select(Order.number).join(Event, Event.order_id == Order.id)
            .where(Event.name == "order.allocate").order_by(Event.id)).all()
    assert allocated_in_turn == [a["number"], vip["number"], b["number"], small["number"]]
    assert levels(ordo, "TEA-001")["WH-SH"] == (140, 140)
    clock.advance(timedelta(minutes=1))
    late = tea(client, "BO-F", 20)
    clock.advance(timedelta(minutes=1))
    later = tea(client, "BO-G", 5)
    receive_tea(client, 16)  # the 5 of the later order would fit, but the earlier one waits for 20: nobody
    assert [status_of(client, o["number"]) for o in (late, later)] == ["backordered", "backordered"]
    receive_tea(client, 4)
    assert [status_of(client, o["number"]) for o in (late, later)] == ["allocated", "backordered"]
    receive_tea(client, 5)
    assert status_of(client, later["number"]) == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (165, 165)
    with ordo.reading() as uow:
        assert verify(uow.session) == []
        notices = uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.topic == "order.backordered")
                                      .order_by(OutboxMessage.id)).all()
    assert notices == [f"order.backordered:{o['number']}" for o in (b, vip, small, late, later)]


def test_a_new_order_passes_the_waiting_orders_behind_it_in_the_queues_order(ordo, clock):
    client = client_for(ordo)
    assert client.post("/api/v1/customers", json={"name": "VIP", "phone": "13700000009", "vip_level": 2}
                       ).status_code == 201
    tea(client, "PQ-A", 90)  # 10 left
    waiting = tea(client, "PQ-B", 30)
    clock.advance(timedelta(minutes=1))
    vip = tea(client, "PQ-V", 8, customer={"name": "VIP", "phone": "13700000009"})
    clock.advance(timedelta(minutes=1))
    plain = tea(client, "PQ-C", 2)  # 2 are free, but B came first and waits for them
    assert [status_of(client, o["number"]) for o in (waiting, vip, plain)] == ["backordered", "allocated",
                                                                                "backordered"]
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 98)
    event = next(e for e in client.get(f"/api/v1/orders/{plain['number']}").json()["events"]
                 if e["name"] == "order.backorder")
    assert event["data"] == {"behind": [waiting["number"]], "shortage": {"1:TEA-001": 2}}


def test_unpaid_orders_do_not_wait_for_scarce_stock_they_are_closed_with_an_apology_coupon(ordo, clock):
    client = client_for(ordo)
    tea(client, "SC-A", 90)  # 10 left
    paid = tea(client, "SC-B", 30)  # backordered: paid and waiting
    unpaid = {"payment": {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}}
    cod = tea(client, "SC-C", 5, **unpaid)
    r = client.post(f"/api/v1/review/orders/{cod['number']}/approve")  # verified with the customer
    assert r.status_code == 200, r.text
    closed = client.get(f"/api/v1/orders/{cod['number']}").json()
    assert closed["status"] == "cancelled"
    event = closed["events"][-1]
    assert (event["name"], event["reason"], event["data"]) == (
        "order.cancel", "scarce stock: paid orders first", {"apology_coupon": "5", "currency": "CNY"}
    )
    with ordo.reading() as uow:
        coupons = uow.session.execute(select(Coupon.amount, Coupon.currency, Coupon.order_id)).all()
    assert [(str(a), c) for a, c, _ in coupons] == [("5", "CNY")]
    assert status_of(client, paid["number"]) == "backordered"


def test_the_customer_waits_or_takes_a_substitute(ordo):
    client = client_for(ordo)
    stock(ordo, "WH-SH", "MUG-002", 100)  # 200 mugs
    order = tea(client, "SUB-1", 150)
    number = order["number"]
    assert order["status"] == "backordered"
    assert order["allowed_actions"][-2:] == ["wait", "substitute"]
    waited = client.post(f"/api/v1/orders/{number}/wait", json={"note": "客户愿意等待"})
    assert (waited.status_code, waited.json()["status"]) == (200, "backordered")
    assert waited.json()["events"][-1]["name"] == "order.wait"
    bad = client.post(f"/api/v1/orders/{number}/substitute", json={"line_no": 9, "sku": "NOPE"})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["line_no", "sku"]
    missing = client.post(f"/api/v1/orders/{number}/substitute", json={})
    assert sorted(e["field"] for e in missing.json()["errors"]) == ["line_no", "sku"]
    took = client.post(f"/api/v1/orders/{number}/substitute", json={"line_no": 1, "sku": "MUG-002"})
    assert took.status_code == 200, took.text
    body = took.json()
    assert (body["status"], body["lines"][0]["sku"]) == ("allocated", "MUG-002")
    assert [(s["warehouse"], s["lines"]) for s in body["shipments"]] == [
        ("WH-SH", [{"sku": "MUG-002", "quantity": 150}])
    ]
    again = client.post(f"/api/v1/orders/{number}/wait")
    assert (again.status_code, again.json()["detail"]) == (409, f"Order {number} is allocated, not waiting for stock.")


# --- reorder alerts, channel availability, the ledger, returns ------------------------------------


def test_reorder_alert_once_per_crossing_and_cleared_when_stock_recovers(database, clock):
    policy = Policy(inventory=InventoryPolicy(reorder_scope="warehouse"))
    database.empty()
    ordo = Ordo(Settings(database_url=database.url), clock=clock, policy=policy, engine=database.engine)
    client = client_for(ordo)
    tea(client, "RO-1", 45)  # WH-SH: 100 → 55 available, above the point (50)
    assert client.get("/api/v1/inventory/alerts").json() == []
    second = tea(client, "RO-2", 10)  # 45: below
    tea(client, "RO-3", 5)  # 40: still below, no second alert
    alerts = client.get("/api/v1/inventory/alerts").json()
    assert [(a["sku"], a["warehouse"], a["available"], a["reorder_point"]) for a in alerts] == [
        ("TEA-001", "WH-SH", 45, 50),
    ]
    with ordo.reading() as uow:
        sent = uow.session.scalars(select(OutboxMessage.topic).where(OutboxMessage.topic == "stock.reorder")).all()
    assert sent == ["stock.reorder"]
    assert client.post(f"/api/v1/orders/{second['number']}/cancel", json={"reason": "x"}).status_code == 200
    assert client.get("/api/v1/inventory/alerts").json() == []  # back to 50
    cleared = client.get("/api/v1/inventory/alerts", params={"include_cleared": True}).json()
    assert [(a["warehouse"], a["cleared_at"] is not None) for a in cleared] == [("WH-SH", True)]


def test_available_to_promise_per_channel_keeps_safety_stock_and_waiting_orders_back(ordo):
    client = client_for(ordo)
    tea(client, "ATP-1", 30)  # reserved 30 of 200 (WH-SH and WH-LA)
    tea(client, "ATP-2", 175)  # more than is left: backordered, 175 wait
    web = client.get("/api/v1/inventory/availability", params={"channel": "web", "sku": ["TEA-001", "MUG-002"]})
    assert web.status_code == 200, web.text
    assert [(a["sku"], a["on_hand"], a["reserved"], a["backordered"], a["safety_stock"], a["available_to_promise"])
            for a in web.json()] == [("MUG-002", 100, 0, 0, 0, 100), ("TEA-001", 200, 30, 175, 0, 0)]
    market = client.get("/api/v1/inventory/availability", params={"channel": "marketplace", "sku": "MUG-002"})
    assert [a["available_to_promise"] for a in market.json()] == [95]
    assert client.get("/api/v1/inventory/availability").status_code == 422


def test_ledger_view_and_return_to_stock(ordo):
    client = client_for(ordo)
    r = client.post("/api/v1/stock/receipts", json={"warehouse": "WH-SH", "sku": "MUG-002", "quantity": 2,
                                                     "kind": "return", "reference": "20260315001",
                                                     "reason": "customer return, inspected"})
    assert r.status_code in (200, 201), r.text
    assert r.json()["on_hand"] == 102
    rows = client.get("/api/v1/stock/ledger", params={"sku": "MUG-002", "warehouse": "WH-SH"}).json()
    assert [(x["kind"], x["on_hand"], x["reserved"], x["reference"]) for x in rows] == [
        ("return", 2, 0, "20260315001"), ("receipt", 100, 0, None),
    ]
    bad = client.post("/api/v1/stock/receipts", json={"warehouse": "WH-SH", "sku": "MUG-002", "quantity": 1,
                                                       "kind": "gift"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "kind")
    with ordo.reading() as uow:
        assert verify(uow.session) == []


def test_bin_locations_are_set_shown_and_checked(ordo):
    client = client_for(ordo)
    r = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "TEA-001", "bin": "a03-012-l"})
    assert r.status_code == 200, r.text
    assert (r.json()["bin"], r.json()["on_hand"]) == ("A03-012-L", 100)
    listed = client.get("/api/v1/stock", params={"sku": "TEA-001", "warehouse": "WH-SH"}).json()["items"]
    assert [x["bin"] for x in listed] == ["A03-012-L"]
    bad = client.put("/api/v1/stock/bins", json={"warehouse": "WH-XX", "sku": "TEA-001", "bin": "A 3/12"},
                     headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 422
    assert [(e["field"], e["message"]) for e in bad.json()["errors"]] == [
        ("warehouse", "warehouse：未知仓库“WH-XX”。"),
        ("bin", "bin：“A 3/12”不是有效的库位（巷道、货位和左右侧，如 A03-015-L）。"),
    ]
    cleared = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "TEA-001", "bin": ""})
    assert cleared.json()["bin"] is None


def test_a_restock_that_cannot_serve_a_paid_order_closes_the_unpaid_ones_behind_it(ordo, clock):
    client = client_for(ordo)
    tea(client, "SR-A", 90)  # 10 left
    unpaid = {"payment": {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}}
    cod = tea(client, "SR-C", 30, **unpaid)
    assert client.post(f"/api/v1/review/orders/{cod['number']}/approve").status_code == 200
    assert status_of(client, cod["number"]) == "backordered"  # nobody paid was waiting yet
    clock.advance(timedelta(minutes=1))
    paid = tea(client, "SR-P", 40)
    assert status_of(client, paid["number"]) == "backordered"
    receive_tea(client, 20)  # 30 available: not enough for the paid 40, so the unpaid order is closed
    assert [status_of(client, o["number"]) for o in (paid, cod)] == ["backordered", "cancelled"]
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Coupon.order_id)).all() == [
            uow.session.scalars(select(Order.id).where(Order.number == cod["number"])).one()
        ]
    receive_tea(client, 10)
    assert status_of(client, paid["number"]) == "allocated"


# --- shortage always recorded, released stock serves the queue, substitutes wait their turn -------


def events_of(client, number: str, name: str) -> list[dict]:
    return [e for e in client.get(f"/api/v1/orders/{number}").json()["events"] if e["name"] == name]


@pytest.mark.parametrize("stale_reads", [1, 99])
def test_an_order_that_loses_the_reservation_race_is_backordered_with_its_shortage(ordo, monkeypatch, stale_reads):
    """Between planning and reserving, another order took the stock (it cannot while the planner
    holds the rows it read, so the figures are made stale here): the conditional update finds too
    little, the plan is made again; the backorder says what each line misses either way. With
    every read stale (99) the race is lost each time, also in the decision PostgreSQL takes once
    more under the locks before backordering."""
    client = client_for(ordo)
    tea(client, "RACE-A", 100)  # WH-SH is empty now
    real = inventory_handlers.available
    calls = {"n": 0}

    def stale(session, sku_ids, **options):  # what a planner saw before the other order committed
        calls["n"] += 1
        figures = real(session, sku_ids, **options)
        return {**figures, (1, figures and min(k[1] for k in figures)): 100} if calls["n"] <= stale_reads else figures

    monkeypatch.setattr(inventory_handlers, "available", stale)
    order = tea(client, "RACE-B", 10)

    assert (order["status"], order["shipments"]) == ("backordered", [])
    [event] = events_of(client, order["number"], "order.backorder")
    assert event["data"] == {"shortage": {"1:TEA-001": 10}}
    assert event["reason"] == ("stock was taken by concurrent orders" if stale_reads == 99
                               else "not enough stock in the warehouses")
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 100)
    with ordo.reading() as uow:
        assert verify(uow.session) == []
        message = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "order.backordered")).one()
        audience, key, payload = message.audience, message.key, message.payload
    assert (audience, key) == ("customer_service", f"order.backordered:{order['number']}")
    assert payload == {"order": order["number"], "reason": event["reason"],
                               "shortage": {"1:TEA-001": 10}, "choices": ["wait", "substitute", "cancel"]}


def test_cancelling_an_allocated_order_serves_the_backorder_waiting_for_its_stock(ordo):
    client = client_for(ordo)
    first = tea(client, "REL-A", 90)
    waiting = tea(client, "REL-B", 30)
    assert status_of(client, waiting["number"]) == "backordered"
    r = client.post(f"/api/v1/orders/{first['number']}/cancel", json={"reason": "customer changed mind"})
    assert r.status_code == 200, r.text
    assert status_of(client, waiting["number"]) == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 30)
    with ordo.reading() as uow:
        assert verify(uow.session) == []


def test_a_positive_adjustment_serves_backorders_and_a_negative_one_does_not(ordo):
    client = client_for(ordo)
    tea(client, "ADJ-A", 90)
    waiting = tea(client, "ADJ-B", 15)
    down = client.post("/api/v1/stock/adjustments", json={"warehouse": "WH-SH", "sku": "TEA-001", "delta": -2,
                                                           "reason": "damaged"})
    assert down.status_code in (200, 201), down.text
    assert status_of(client, waiting["number"]) == "backordered"
    found = client.post("/api/v1/stock/adjustments", json={"warehouse": "WH-SH", "sku": "TEA-001", "delta": 7,
                                                            "reason": "count found a carton"})
    assert found.status_code in (200, 201), found.text
    assert status_of(client, waiting["number"]) == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (105, 105)


def test_a_backorder_released_from_a_hold_is_tried_again_at_once(ordo):
    client = client_for(ordo)
    tea(client, "HB-A", 90)  # 10 left
    waiting = tea(client, "HB-B", 30)
    number = waiting["number"]

    def act(action: str) -> str:
        r = client.post(f"/api/v1/orders/{number}/{action}", json={"hold_reason": "awaiting_customer"})
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    assert (act("hold"), act("release")) == ("on_hold", "backordered")  # still short: it just waits again
    assert act("hold") == "on_hold"
    receive_tea(client, 25)  # 35 free, but a held order is not served
    assert levels(ordo, "TEA-001")["WH-SH"] == (125, 90)
    assert act("release") == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (125, 120)
    with ordo.reading() as uow:
        order_id = uow.session.scalars(select(Order.id).where(Order.number == number)).one()
        names = list(uow.session.scalars(select(Event.name).where(Event.order_id == order_id, Event.entity == "order")
                                         .order_by(Event.id)))
        notices = uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.topic == "order.backordered",
                                            OutboxMessage.key == f"order.backordered:{number}"))
        assert verify(uow.session) == []
    assert names == ["order.created", "order.confirm", "order.backorder", "order.hold", "order.released",
                     "order.hold", "order.released", "order.allocate"]
    assert notices == 1


def test_cancelling_a_backordered_order_is_the_cancel_choice_and_frees_its_place(ordo):
    client = client_for(ordo)
    tea(client, "CX-A", 90)  # 10 left
    ahead = tea(client, "CX-B", 30)
    behind = tea(client, "CX-C", 10)
    assert [status_of(client, o["number"]) for o in (ahead, behind)] == ["backordered", "backordered"]
    r = client.post(f"/api/v1/orders/{ahead['number']}/cancel", json={"reason": "customer will not wait"})
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    # Nothing was reserved for it; its place goes to the order behind it, which the 10 left serve now
    # (before, it waited for the next receipt with them in sight).
    assert status_of(client, behind["number"]) == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 100)


def test_a_substitute_waits_behind_earlier_orders_and_must_suit_the_service_type(ordo):
    client = client_for(ordo)
    for sku, delta in (("MUG-002", -80), ("OIL-004", -95)):  # 20 mugs and 5 bottles of oil left
        assert client.post("/api/v1/stock/adjustments", json={"warehouse": "WH-SH", "sku": sku, "delta": delta,
                                                               "reason": "count"}).status_code in (200, 201)
    mug_and_oil = [{"sku": "MUG-002", "quantity": 15, "unit_price": "39.90"},
                   {"sku": "OIL-004", "quantity": 10, "unit_price": "59.00"}]
    total = "1193.50"
    earlier = client.post("/api/v1/orders", json=order_payload(
        external_id="SQ-1", lines=mug_and_oil, total=total,
        payment={"method": "alipay", "status": "paid", "amount_paid": total})).json()
    assert earlier["status"] == "backordered"  # oil is short; it waits for 15 of the 20 mugs too
    tea(client, "SQ-2", 95)
    later = tea(client, "SQ-3", 20)
    assert later["status"] == "backordered"
    with ordo.reading() as uow:
        before = uow.session.scalar(select(func.count()).select_from(Event))

    bulky = client.post(f"/api/v1/orders/{later['number']}/substitute", json={"line_no": 1, "sku": "SOFA-005"})
    assert bulky.status_code == 422
    assert [(e["field"], e["message"]) for e in bulky.json()["errors"]] == [
        ("sku", 'sku: "SOFA-005" is bulky goods, which the order\'s service type "domestic_express" does not carry.'),
    ]
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Event)) == before

    took = client.post(f"/api/v1/orders/{later['number']}/substitute", json={"line_no": 1, "sku": "MUG-002"})
    assert took.status_code == 200, took.text
    assert (took.json()["status"], took.json()["lines"][0]["sku"]) == ("backordered", "MUG-002")
    assert levels(ordo, "MUG-002")["WH-SH"] == (20, 0)  # 5 free after the earlier 15: not enough for 20


# --- reorder points: total scope, per SKU, a second crossing, concurrent crossings ----------------


def alerts(client) -> list[tuple]:
    return [(a["sku"], a["warehouse"], a["available"], a["reorder_point"], a["cleared_at"] is not None)
            for a in client.get("/api/v1/inventory/alerts", params={"include_cleared": True}).json()]


def with_policy(database, clock, **inventory) -> Ordo:
    database.empty()
    return Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(inventory=InventoryPolicy(**inventory)))


def test_total_scope_counts_every_warehouse_and_a_second_crossing_raises_a_second_alert(database, clock):
    client = client_for(with_policy(database, clock))  # the default: reorder_scope "total"
    first = tea(client, "RT-1", 99)  # WH-SH 100 → 1, but WH-LA still holds 100: 101 in total
    assert alerts(client) == []
    tea(client, "RT-2", 1)
    assert alerts(client) == []
    r = client.post("/api/v1/stock/adjustments", json={"warehouse": "WH-LA", "sku": "TEA-001", "delta": -60,
                                                        "reason": "count"})
    assert r.status_code in (200, 201), r.text
    assert alerts(client) == [("TEA-001", None, 40, 50, False)]
    assert client.post(f"/api/v1/orders/{first['number']}/cancel", json={"reason": "x"}).status_code == 200
    assert alerts(client) == [("TEA-001", None, 40, 50, True)]  # 139: recovered
    tea(client, "RT-3", 95)  # 44: crossed again
    assert alerts(client) == [("TEA-001", None, 40, 50, True), ("TEA-001", None, 44, 50, False)]


def test_a_reorder_point_per_sku_overrides_the_default(database, clock):
    client = client_for(with_policy(database, clock, reorder_scope="warehouse", reorder_points={"MUG-002": 98}))
    mugs = [{"sku": "MUG-002", "quantity": 3, "unit_price": "39.90"}]
    r = client.post("/api/v1/orders", json=order_payload(external_id="PS-1", lines=mugs, total="124.70",
                                                          payment={"method": "alipay", "status": "paid",
                                                                   "amount_paid": "124.70"}))
    assert r.json()["status"] == "allocated", r.text
    tea(client, "PS-2", 3)  # 97 tea: above the default 50
    assert alerts(client) == [("MUG-002", "WH-SH", 97, 98, False)]


def test_concurrent_crossings_raise_one_alert_and_neither_transaction_fails(ordo, database):
    import threading

    from ordo.inventory.handlers import check_reorder
    from tests.integration.test_concurrency import wait_for_a_lock_waiter

    if database.kind != "postgresql":
        pytest.skip("SQLite serialises writers: the second one sees the first one's alert")
    seed(ordo, stock=10)
    with ordo.reading() as uow:
        tea_id = uow.session.scalars(select(Sku.id).where(Sku.code == "TEA-001")).one()
    raised: list[list[int]] = []

    def second() -> None:
        with ordo.transaction() as uow:
            raised.append(check_reorder(uow.session, uow.policy.inventory, [tea_id], uow.clock.now()))

    thread = threading.Thread(target=second)
    with ordo.transaction() as uow:
        raised.append(check_reorder(uow.session, uow.policy.inventory, [tea_id], uow.clock.now()))
        thread.start()
        wait_for_a_lock_waiter(database)  # the second insert waits on the unique index
    thread.join(30)

    assert [len(r) for r in raised] == [1, 0]
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.topic == "stock.reorder")) == 1


def test_the_apology_coupon_amount_is_policy(database, clock):
    ordo = with_policy(database, clock, apology_coupon="12.50")
    client = client_for(ordo)
    tea(client, "CP-A", 90)
    tea(client, "CP-B", 30)
    cod = tea(client, "CP-C", 5, payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    assert client.post(f"/api/v1/review/orders/{cod['number']}/approve").status_code == 200
    closed = client.get(f"/api/v1/orders/{cod['number']}").json()
    assert (closed["status"], closed["events"][-1]["data"]) == (
        "cancelled", {"apology_coupon": "12.50", "currency": "CNY"}
    )
    with ordo.reading() as uow:
        assert [(str(a), c) for a, c in uow.session.execute(select(Coupon.amount, Coupon.currency))] == [
            ("12.50", "CNY")
        ]


def test_a_reservation_in_one_warehouse_is_all_or_nothing_across_its_skus(ordo):
    """try_reserve updates every SKU's row at once; when one has too little, what the others took is
    given back in the same transaction: no stock changed, no ledger row, and the transaction goes on."""
    seed(ordo)
    assert (levels(ordo, "TEA-001")["WH-SH"], levels(ordo, "MUG-002")["WH-SH"]) == ((100, 0), (100, 0))
    with ordo.transaction() as uow:
        s = uow.session
        wh = s.scalars(select(Warehouse.id).where(Warehouse.code == "WH-SH")).one()
        tea_id, mug_id = (s.scalars(select(Sku.id).where(Sku.code == c)).one() for c in ("TEA-001", "MUG-002"))
        assert tea_id < mug_id  # the tea can be taken, the mugs are short
        refused = inventory_handlers.try_reserve(s, warehouse_id=wh, needs={tea_id: 7, mug_id: 101}, actor="test",
                                                 at=uow.clock.now(), reference="T-1")
        granted = inventory_handlers.try_reserve(s, warehouse_id=wh, needs={tea_id: 3, mug_id: 100}, actor="test",
                                                 at=uow.clock.now(), reference="T-2")
    assert (refused, granted) == (False, True)
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 3)
    assert levels(ordo, "MUG-002")["WH-SH"] == (100, 100)
    with ordo.reading() as uow:
        rows = uow.session.execute(select(StockMovement.reference, StockMovement.sku_id, StockMovement.delta_reserved)
                                   .where(StockMovement.kind == "reservation").order_by(StockMovement.id)).all()
        assert [tuple(r) for r in rows] == [("T-2", tea_id, 3), ("T-2", mug_id, 100)]


def test_a_receipt_plans_only_the_waiting_orders_the_free_stock_could_serve(ordo, monkeypatch):
    """Serving the queue reads the free units per SKU once; an order needing more than is free once
    the earlier ones' claims are set aside is not planned at all (a receipt costs what it can serve,
    not a plan per waiting order)."""
    client = client_for(ordo)
    waiting = [tea(client, f"Q-{i}", 150)["number"] for i in range(5)]  # WH-SH 100, WH-LA does not serve CN
    assert [status_of(client, n) for n in waiting] == ["backordered"] * 5
    planned: list[str] = []
    real = backorders.allocate_order

    def counting(uow, order, **kwargs):
        planned.append(order.number)
        return real(uow, order, **kwargs)

    monkeypatch.setattr(backorders, "allocate_order", counting)
    receive_tea(client, 10)  # free: 110 in WH-SH + 100 in WH-LA = 210 ≥ 150 for the first only
    assert planned == [waiting[0]]  # tried (WH-LA cannot serve it), then its 150 are claimed: 60 left
    assert [status_of(client, n) for n in waiting] == ["backordered"] * 5
    receive_tea(client, 40)  # 150 in WH-SH: the first is served; 100 left in WH-LA only
    assert planned == [waiting[0], waiting[0]]
    assert [status_of(client, n) for n in waiting] == ["allocated"] + ["backordered"] * 4
    assert levels(ordo, "TEA-001") == {"WH-SH": (150, 150), "WH-LA": (100, 0)}
    with ordo.reading() as uow:
        assert verify(uow.session) == []


def test_a_restock_locks_only_the_orders_waiting_for_its_goods_and_counts_the_claims_of_the_others(ordo):
    """Only an order that needs the received SKU can become servable, so only those are locked and
    planned; an earlier order waiting for other goods is neither locked nor touched, but what it
    waits for is still set aside for it."""
    client = client_for(ordo)

    def order(external_id: str, *lines: tuple[str, int, str]) -> str:
        total = sum(q * float(p) for _, q, p in lines) + 5
        r = client.post("/api/v1/orders", json=order_payload(
            external_id=external_id, lines=[{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
            total=f"{total:.2f}", payment={"method": "alipay", "status": "paid", "amount_paid": f"{total:.2f}"}))
        assert r.status_code == 201, r.text
        return r.json()["number"]

    mugs = order("MUGS", ("MUG-002", 120, "39.90"))  # WH-SH holds 100 mugs
    both = order("BOTH", ("TEA-001", 10, "25.00"), ("MUG-002", 10, "39.90"))  # behind the 120 mugs
    assert (status_of(client, mugs), status_of(client, both)) == ("backordered", "backordered")
    with ordo.reading() as uow:
        tea, mug = (uow.session.scalar(select(Sku.id).where(Sku.code == c)) for c in ("TEA-001", "MUG-002"))
        assert [o.number for o in backorders.waiting_for(uow, [tea])] == [both]
        assert [o.number for o in backorders.waiting_for(uow, [mug])] == [mugs, both]

    receive_tea(client, 5)  # tea for BOTH, but its mugs are still set aside for MUGS
    assert (status_of(client, mugs), status_of(client, both)) == ("backordered", "backordered")
    r = client.post("/api/v1/stock/receipts", json={"warehouse": "WH-SH", "sku": "MUG-002", "quantity": 30})
    assert r.status_code in (200, 201), r.text
    assert (status_of(client, mugs), status_of(client, both)) == ("allocated", "allocated")
    assert levels(ordo, "MUG-002") == {"WH-SH": (130, 130)}
    with ordo.reading() as uow:
        assert verify(uow.session) == []


@pytest.mark.parametrize(("action", "body"), [
    ("cancel", {"reason": "customer changed mind"}),
    ("hold", {"hold_reason": "awaiting_customer"}),
    ("substitute", {"line_no": 1, "sku": "MUG-002"}),
])
def test_an_order_that_stops_waiting_lets_the_ones_behind_it_have_the_free_stock(ordo, action, body):
    """Found by the crash soak's checker (``backorder.servable``): an order that waited behind
    another's claim stayed backordered when that one was cancelled, held or given another SKU,
    with the stock in sight, until the next receipt. It is served at once now."""
    client = client_for(ordo)
    ahead = tea(client, "AHEAD", 150)["number"]  # WH-SH has 100: waits
    behind = tea(client, "BEHIND", 60)["number"]  # 60 of the 100 free, but the first order claims them
    assert [status_of(client, n) for n in (ahead, behind)] == ["backordered", "backordered"]

    r = client.post(f"/api/v1/orders/{ahead}/{action}", json=body)

    assert r.status_code == 200, r.text
    assert status_of(client, behind) == "allocated"
    assert levels(ordo, "TEA-001")["WH-SH"] == (100, 60)
