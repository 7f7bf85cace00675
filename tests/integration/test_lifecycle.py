"""Holds, cancellation, payment, manual review and illegal transitions, through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Reservation, Stock, StockMovement, Warehouse
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


def stock_of(ordo, sku: str, warehouse: str = "WH-SH") -> tuple[int, int]:
    with ordo.reading() as uow:
        row = uow.session.execute(
            select(Stock.on_hand, Stock.reserved)
            .join(Sku, Sku.id == Stock.sku_id)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id)
            .where(Sku.code == sku, Warehouse.code == warehouse)
        ).one()
    return row.on_hand, row.reserved


def act(client, number: str, action: str, **body):
    return client.post(f"/api/v1/orders/{number}/{action}", json=body)


def unpaid(**changes):
    return order_payload(payment={"method": "alipay", "status": "unpaid", "amount_paid": "0"}, **changes)


def test_unpaid_order_waits_for_payment_then_flows_to_allocated(client, ordo):
    order = client.post("/api/v1/orders", json=unpaid()).json()
    assert (order["status"], order["payment_status"]) == ("pending_payment", "unpaid")
    assert stock_of(ordo, "TEA-001") == (100, 0)
    paid = act(client, order["number"], "pay", reference="ALI-778899").json()
    assert (paid["status"], paid["payment_status"], paid["amount_paid"]) == ("allocated", "paid", "55.00")
    assert stock_of(ordo, "TEA-001") == (100, 2)
    assert [e["name"] for e in paid["events"]] == [
        "order.created",
        "payment.paid",
        "order.pay",
        "order.confirm",
        "shipment.created",
        "order.allocate",
    ]


def test_unpaid_order_is_closed(client):
    number = client.post("/api/v1/orders", json=unpaid()).json()["number"]
    closed = act(client, number, "close", reason="not paid within 24 h").json()
    assert closed["status"] == "closed"
    assert closed["events"][-1]["reason"] == "not paid within 24 h"


def test_cash_on_delivery_needs_manual_confirmation(client):
    payload = order_payload(payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    order = client.post("/api/v1/orders", json=payload).json()
    assert order["status"] == "pending_review"
    assert order["allowed_actions"] == ["pay", "confirm", "reject", "hold", "cancel"]
    assert act(client, order["number"], "confirm", note="called the customer").json()["status"] == "allocated"


def test_rejection_needs_a_reason(client):
    payload = order_payload(payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    number = client.post("/api/v1/orders", json=payload).json()["number"]
    missing = act(client, number, "reject")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "reason", "code": "required", "message": "reason is required."}]
    rejected = act(client, number, "reject", reason="address is a parcel locker abroad").json()
    assert rejected["status"] == "cancelled"


def test_holds_stack_and_release_one_by_one(client, ordo):
    number = client.post("/api/v1/orders", json=unpaid()).json()["number"]
    first = act(client, number, "hold", hold_reason="awaiting_customer", note="asked for the door code")
    assert first.json()["status"] == "on_hold"
    second = act(client, number, "hold", hold_reason="risk_intercepted").json()
    assert [h["reason"] for h in second["holds"] if h["released_at"] is None] == [
        "awaiting_customer",
        "risk_intercepted",
    ]
    again = act(client, number, "hold", hold_reason="risk_intercepted")
    assert again.status_code == 409
    assert again.json()["detail"] == f'Order {number} is already on hold for "risk_intercepted".'
    one = act(client, number, "release", hold_reason="awaiting_customer").json()
    assert one["status"] == "on_hold"
    both = act(client, number, "release", hold_reason="risk_intercepted").json()
    assert both["status"] == "pending_payment"
    assert all(h["released_by"] == "root" for h in both["holds"])
    names = [(e["name"], e["from_state"], e["to_state"]) for e in both["events"]]
    assert names[1:] == [
        ("order.hold", "pending_payment", "on_hold"),
        ("order.hold_added", "on_hold", "on_hold"),
        ("order.released", "on_hold", "on_hold"),
        ("order.released", "on_hold", "pending_payment"),
    ]
    missing = act(client, number, "release", hold_reason="second_review")
    assert missing.status_code == 409
    assert missing.json()["detail"] == f'Order {number} has no hold "second_review".'


def test_releasing_a_confirmed_order_allocates_it(client, ordo):
    payload = order_payload(payment={"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"})
    number = client.post("/api/v1/orders", json=payload).json()["number"]
    act(client, number, "hold", hold_reason="second_review")
    assert act(client, number, "release", hold_reason="second_review").json()["status"] == "pending_review"


def test_cancel_before_handover_releases_stock(client, ordo):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    act(client, number, "pick")
    assert stock_of(ordo, "TEA-001") == (100, 2)
    cancelled = act(client, number, "cancel", reason="customer changed their mind").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["shipments"][0]["status"] == "cancelled"
    assert stock_of(ordo, "TEA-001") == (100, 0)
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Reservation.status)).all() == ["released"]
        kinds = uow.session.execute(
            select(StockMovement.kind, StockMovement.delta_on_hand, StockMovement.delta_reserved)
            .where(StockMovement.reference == number)
            .order_by(StockMovement.id)
        ).all()
    assert kinds == [("reservation", 0, 2), ("release", 0, -2)]


def test_cancel_after_handover_is_refused(client, ordo):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    prepare_packing(ordo, number)
    for step in ("pick", "finish-pick", "check", "pack", "hand-over"):
        scan_before(ordo, number, step)
        assert act(client, number, step).status_code == 200
    refused = act(client, number, "cancel", reason="too late")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Order {number} has shipment {number}-1 already handed over to the carrier; intercept it instead."
    )
    assert stock_of(ordo, "TEA-001") == (100, 2)


def test_shipping_consumes_the_reservation(client, ordo):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    prepare_packing(ordo, number)
    for step in ("pick", "finish-pick", "check", "pack", "hand-over"):
        scan_before(ordo, number, step)
        act(client, number, step)
    shipped = act(client, number, "ship", carrier="YTO Economy", tracking_number="YT100200300").json()
    assert shipped["status"] == "shipped"
    # The booked carrier's real number replaces the one the manual carrier made up at hand-over.
    assert shipped["shipments"][0]["tracking_number"] == "YT100200300"
    assert shipped["shipping_progress"] == "shipped"
    assert stock_of(ordo, "TEA-001") == (98, 0)


def test_illegal_transition_names_state_and_allowed_actions(client):
    number = client.post("/api/v1/orders", json=unpaid()).json()["number"]
    refused = act(client, number, "complete")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "illegal_transition"
    assert (
        body["detail"]
        == 'order is pending_payment; "complete" is not allowed. Allowed actions: cancel, close, hold, pay, reject.'
    )
    zh = client.post(f"/api/v1/orders/{number}/complete", headers={"Accept-Language": "zh-CN"})
    assert (
        zh.json()["detail"]
        == "order当前状态为 pending_payment，不允许执行“complete”。可执行的操作：cancel, close, hold, pay, reject。"
    )
    picking = act(client, number, "pick")
    assert picking.status_code == 409
    assert picking.json()["detail"] == (
        'order is pending_payment; "shipment start_pick" is not allowed. '
        "Allowed actions: cancel, close, hold, pay, reject."
    )


def test_backordered_order_is_allocated_when_stock_arrives(client, ordo):
    payload = order_payload(
        lines=[{"sku": "TEA-001", "quantity": 150, "unit_price": "25.00"}],
        total="3755.00",
        payment={"method": "alipay", "status": "paid", "amount_paid": "3755.00"},
    )
    order = client.post("/api/v1/orders", json=payload).json()
    assert order["status"] == "backordered"
    assert order["shipments"] == []
    too_early = act(client, order["number"], "allocate")
    assert too_early.json()["status"] == "backordered"
    with ordo.transaction() as uow:
        sku = uow.session.scalar(select(Sku.id).where(Sku.code == "TEA-001"))
        wh = uow.session.scalar(select(Warehouse.id).where(Warehouse.code == "WH-SH"))
        receive(uow.session, warehouse_id=wh, sku_id=sku, quantity=60, actor="test", at=uow.clock.now())
    allocated = act(client, order["number"], "allocate").json()
    assert allocated["status"] == "allocated"
    assert allocated["shipments"][0]["lines"] == [{"sku": "TEA-001", "quantity": 150}]
    assert stock_of(ordo, "TEA-001") == (160, 150)


def test_allowed_actions_follow_shipments_and_the_callers_roles(client, ordo):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    assert client.get(f"/api/v1/orders/{number}").json()["allowed_actions"] == ["hold", "cancel", "pick"]
    act(client, number, "pick")
    assert client.get(f"/api/v1/orders/{number}").json()["allowed_actions"] == ["cancel", "finish-pick"]
    picker = user_token(ordo, "picker", ["warehouse"])
    seen = client.get(f"/api/v1/orders/{number}", headers={"Authorization": f"Bearer {picker}"}).json()
    assert seen["allowed_actions"] == ["finish-pick"]


def test_unknown_order_is_404(client):
    r = client.get("/api/v1/orders/20991231001")
    assert r.status_code == 404
    assert r.json()["detail"] == "order 20991231001 not found."


def test_list_filters_and_cursor_pagination(client, ordo, clock):
    numbers = []
    for i in range(5):
        clock.advance(timedelta(minutes=1))
        shop = "tmall" if i % 2 else "web-cn"
        phone = "13912345678" if i == 4 else f"1381234567{i}"
        customer = {"name": "王芳", "phone": phone}
        numbers.append(
            client.post(
                "/api/v1/orders", json=order_payload(shop=shop, external_id=f"E-{i}", customer=customer)
            ).json()["number"]
        )
    page1 = client.get("/api/v1/orders", params={"limit": 2}).json()
    assert [o["number"] for o in page1["items"]] == [numbers[4], numbers[3]]
    page2 = client.get("/api/v1/orders", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [o["number"] for o in page2["items"]] == [numbers[2], numbers[1]]
    page3 = client.get("/api/v1/orders", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
    assert [o["number"] for o in page3["items"]] == [numbers[0]]
    assert page3["next_cursor"] is None

    def numbers_for(**params):
        return [o["number"] for o in client.get("/api/v1/orders", params=params).json()["items"]]

    assert numbers_for(shop="tmall") == [numbers[3], numbers[1]]
    assert numbers_for(channel="marketplace") == [numbers[3], numbers[1]]
    assert numbers_for(phone="139 1234 5678") == [numbers[4]]
    assert numbers_for(status="allocated", sku="TEA-001") == list(reversed(numbers))
    assert numbers_for(sku="MUG-002") == []
    assert numbers_for(order_class="urgent") == []
    created_from = (clock.now() - timedelta(minutes=1, seconds=30)).isoformat()
    assert numbers_for(created_from=created_from) == [numbers[4], numbers[3]]
    bad = client.get("/api/v1/orders", params={"cursor": "!!"})
    assert bad.status_code == 422


def test_unpaid_order_on_hold_can_be_closed_but_a_paid_one_cannot(client):
    number = client.post("/api/v1/orders", json=unpaid()).json()["number"]
    held = act(client, number, "hold", hold_reason="awaiting_customer").json()
    assert held["allowed_actions"] == ["pay", "reject", "hold", "release", "cancel", "close"]
    closed = act(client, number, "close", reason="customer never answered").json()
    assert closed["status"] == "closed"
    assert [h["released_by"] for h in closed["holds"]] == ["root"]
    paid_number = client.post("/api/v1/orders", json=order_payload(external_id="PAID-1")).json()["number"]
    act(client, paid_number, "hold", hold_reason="risk_intercepted")
    refused = act(client, paid_number, "close", reason="no")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Order {paid_number} is paid; only unpaid orders are closed, cancel it instead."
    )


# --- the short answer (Prefer: return=minimal) ------------------------------------------------------

SUMMARY_KEYS = {"number", "shop", "channel", "external_id", "status", "payment_status", "order_class",
                "service_type", "customer_name", "phone", "currency", "total", "created_at"}


def test_prefer_return_minimal_answers_creation_and_actions_with_the_summary(client):
    minimal = {"Prefer": "return=minimal"}
    created = client.post("/api/v1/orders", json=unpaid(), headers=minimal)
    assert created.status_code == 201, created.text
    assert created.headers["Preference-Applied"] == "return=minimal"
    assert set(created.json()) == SUMMARY_KEYS
    number = created.json()["number"]
    assert created.json()["status"] == "pending_payment"
    held = client.post(f"/api/v1/orders/{number}/hold", json={"hold_reason": "awaiting_customer"}, headers=minimal)
    assert held.status_code == 200, held.text
    assert held.headers["Preference-Applied"] == "return=minimal"
    assert set(held.json()) == SUMMARY_KEYS
    assert (held.json()["number"], held.json()["status"]) == (number, "on_hold")
    # The summary is the list row of the same order, field for field.
    listed = client.get("/api/v1/orders").json()["items"]
    assert listed == [held.json()]
    # A repeated submission answers 200 with the summary too.
    again = client.post("/api/v1/orders", json=unpaid(), headers=minimal)
    assert (again.status_code, again.json()) == (200, held.json())


@pytest.mark.parametrize("prefer", ["respond-async, return=minimal", 'RETURN="minimal"', "return=minimal; foo=bar"])
def test_prefer_is_parsed_as_rfc_7240_lists_it(client, prefer):
    number = client.post("/api/v1/orders", json=unpaid()).json()["number"]
    r = client.post(f"/api/v1/orders/{number}/hold", json={"hold_reason": "awaiting_customer"},
                    headers={"Prefer": prefer})
    assert r.status_code == 200, r.text
    assert r.headers["Preference-Applied"] == "return=minimal"
    assert set(r.json()) == SUMMARY_KEYS


@pytest.mark.parametrize("prefer", [None, "return=representation", "return=minimalist", "handling=lenient"])
def test_without_the_minimal_preference_the_answer_is_the_full_detail(client, prefer):
    headers = {"Prefer": prefer} if prefer else {}
    created = client.post("/api/v1/orders", json=unpaid(), headers=headers)
    assert "Preference-Applied" not in created.headers
    assert {"lines", "events", "holds", "allowed_actions", "address"} <= set(created.json())
    r = client.post(f"/api/v1/orders/{created.json()['number']}/hold", json={"hold_reason": "awaiting_customer"},
                    headers=headers)
    assert "Preference-Applied" not in r.headers
    assert r.json()["holds"][0]["reason"] == "awaiting_customer"
    assert [e["name"] for e in r.json()["events"]][-1] == "order.hold"


def test_openapi_documents_both_answers_and_the_prefer_header(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/orders", "/api/v1/orders/{number}/{action}"):
        operation = spec["paths"][path]["post"]
        assert "prefer" in [p["name"].lower() for p in operation["parameters"] if p["in"] == "header"]
        ok = "201" if path == "/api/v1/orders" else "200"
        schema = operation["responses"][ok]["content"]["application/json"]["schema"]
        refs = {alt["$ref"].rsplit("/", 1)[1] for alt in schema["anyOf"]}
        assert refs == {"OrderDetail", "OrderSummary"}
