"""The whole forward path over HTTP: create, allocate, pick … deliver, complete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ordo.entrypoints.api.app import create_app
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


def test_paid_order_is_confirmed_allocated_and_walks_to_completed(client, ordo):
    created = client.post("/api/v1/orders", json=order_payload())
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["number"] == "20260315001"
    assert order["status"] == "allocated"
    assert [s["warehouse"] for s in order["shipments"]] == ["WH-SH"]
    prepare_packing(client.app.state.ordo, "20260315001")
    steps = [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {}),
             ("ship", {"carrier": "YTO Economy", "tracking_number": "YT1234567890"}), ("deliver", {}), ("complete", {})]
    for action, body in steps:
        scan_before(ordo, "20260315001", action)
        r = client.post(f"/api/v1/orders/20260315001/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    final = client.get("/api/v1/orders/20260315001").json()
    assert final["status"] == "completed"
    assert final["shipments"][0]["status"] == "delivered"
    assert final["shipments"][0]["tracking_number"] == "YT1234567890"
    assert [(e["name"], e["from_state"], e["to_state"]) for e in final["events"]] == [
        ("order.created", None, "pending_review"),
        ("order.confirm", "pending_review", "confirmed"),
        ("shipment.created", None, "allocated"),
        ("order.allocate", "confirmed", "allocated"),
        ("shipment.start_pick", "allocated", "picking"),
        ("order.start_fulfillment", "allocated", "in_fulfillment"),
        ("shipment.finish_pick", "picking", "picked"),
        ("shipment.check", "picked", "checked"),
        ("shipment.pack", "checked", "packed"),
        ("shipment.carrier_chosen", None, None),
        ("shipment.hand_over", "packed", "handed_over"),
        ("shipment.booked", None, None),
        ("shipment.ship", "handed_over", "in_transit"),
        ("order.ship", "in_fulfillment", "shipped"),
        ("shipment.deliver", "in_transit", "delivered"),
        ("order.deliver", "shipped", "delivered"),
        ("order.complete", "delivered", "completed"),
    ]
