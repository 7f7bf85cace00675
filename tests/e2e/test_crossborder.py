"""Cross-border legs over HTTP on both databases: an air-freight order from allocation to delivered
through booking, declaration, transport, arrival, customs and last mile; the declaration's checks;
the order of the legs; customs holds; an overseas-warehouse order with the last mile only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.notify.tables import OutboxMessage
from tests.factories import CHECKER, PICKER, order_payload, prepare_step, seed, user_token

US_ADDRESS = {"country": "US", "province": "CA", "city": "Los Angeles", "street": "1 World Way", "postcode": "90045"}


def export_warehouse(ordo, *, origin: str | None = "CN") -> None:
    """A domestic warehouse that ships to the US, with tea and mugs; the SKUs' origin as given."""
    with ordo.transaction() as uow:
        s, now = uow.session, uow.clock.now()
        wh = Warehouse(code="WH-GZ", name="广州出口仓", kind="domestic", country="CN", region="广东", serves=["US"],
                       capabilities=[], priority=5)
        s.add(wh)
        s.flush()
        for sku in s.scalars(select(Sku).where(Sku.code.in_(["TEA-001", "MUG-002"]))):
            sku.origin_country = origin
            receive(s, warehouse_id=wh.id, sku_id=sku.id, quantity=20, actor="test", at=now)


def intl_order(service_type: str = "intl_air", **changes):
    fields = {
        "external_id": "WEB-9001",
        "customer": {"name": "Jane Doe", "phone": "(201) 555-0123", "email": "jane@example.com"},
        "address": US_ADDRESS,
        "lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "25.00"},
                  {"sku": "MUG-002", "quantity": 1, "unit_price": "39.90"}],
        "shipping_fee": "50.00", "discounts": "0", "total": "139.90", "currency": "USD",
        "payment": {"method": "paypal", "status": "paid", "amount_paid": "139.90"},
        "service_type": service_type, "order_class": "cross_border",
    }
    return order_payload(**{**fields, **changes})


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


def handed_over(client, ordo, number: str, *, ship: bool = True) -> str:
    """Drive the order's shipment from allocated through hand-over (and ship) with the order actions,
    the warehouse scanning and recording the packing before the steps that need them."""
    steps = [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {})]
    if ship:
        steps.append(("ship", {"carrier": "dhl", "tracking_number": "DHL-1234567890"}))
    for action, body in steps:
        prepare_step(ordo, number, action)
        r = client.post(f"/api/v1/orders/{number}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    return f"{number}-1"


def leg(client, shipment: str, name: str, **body):
    return client.post(f"/api/v1/shipments/{shipment}/legs/{name}", json=body)


def test_an_air_freight_order_goes_through_every_leg_to_delivered(client, ordo, clock):
    export_warehouse(ordo)
    created = client.post("/api/v1/orders", json=intl_order())
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["status"] == "allocated"
    created_at = clock.now()

    # The warehouse: the scans before finish-pick and check, the packing record before pack, each
    # some minutes before the order action that needs them.
    times, scanned = {}, {}
    warehouse_steps = [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {}),
                       ("ship", {"carrier": "dhl", "tracking_number": "DHL-1234567890"})]
    for action, body in warehouse_steps:
        clock.advance(timedelta(hours=1))
        scanned[action] = clock.now()
        prepare_step(ordo, number, action)
        clock.advance(timedelta(minutes=10))
        times[action] = clock.now()
        r = client.post(f"/api/v1/orders/{number}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    shipment = f"{number}-1"
    scans = client.get(f"/api/v1/shipments/{shipment}/scans").json()
    assert [(s["stage"], s["sku"], s["quantity"], s["accepted"], s["actor"], s["at"]) for s in scans["scans"]] == [
        ("pick", "MUG-002", 1, True, PICKER, iso(scanned["finish-pick"])),
        ("pick", "TEA-001", 2, True, PICKER, iso(scanned["finish-pick"])),
        ("check", "MUG-002", 1, True, CHECKER, iso(scanned["check"])),
        ("check", "TEA-001", 2, True, CHECKER, iso(scanned["check"])),
    ]
    assert [(g["leg"], g["status"], g["actions"]) for g in client.get(f"/api/v1/shipments/{shipment}/legs").json()[
        "legs"]] == [
        ("export_booking", "pending", ["book"]), ("export_declaration", "pending", []),
        ("international_transport", "pending", []), ("arrival", "pending", []),
        ("customs_clearance", "pending", []), ("last_mile", "pending", []),
    ]

    steps = [
        ("export_booking", {"action": "book", "reference": "BK-778", "carrier": "Kuehne+Nagel",
                            "requested_date": "2026-03-16"}),
        ("export_declaration", {"action": "declare", "reference": "EXP-2026-0001"}),
        ("international_transport", {"action": "depart", "reference": "CA987"}),
        ("arrival", {"action": "arrive"}),
        ("customs_clearance", {"action": "clear", "reference": "CBP-5521"}),
        ("last_mile", {"action": "hand_over", "carrier": "USPS", "tracking_number": "9400100000000000000001"}),
    ]
    for name, body in steps:
        clock.advance(timedelta(hours=3))
        times[name] = clock.now()
        r = leg(client, shipment, name, **body)
        assert r.status_code == 200, (name, r.text)
    clock.advance(timedelta(hours=5))
    delivered_at = clock.now()
    assert client.post(f"/api/v1/orders/{number}/deliver", json={}).status_code == 200

    detail = client.get(f"/api/v1/orders/{number}").json()
    assert (detail["status"], detail["shipments"][0]["status"]) == ("delivered", "delivered")
    legs = {g["leg"]: g for g in detail["shipments"][0]["legs"]}
    assert [(name, g["status"], g["started_at"], g["completed_at"], g["reference"]) for name, g in legs.items()] == [
        ("export_booking", "completed", iso(times["export_booking"]), iso(times["export_booking"]), "BK-778"),
        ("export_declaration", "completed", iso(times["export_declaration"]), iso(times["export_declaration"]),
         "EXP-2026-0001"),
        ("international_transport", "completed", iso(times["international_transport"]), iso(times["arrival"]),
         "CA987"),
        ("arrival", "completed", iso(times["arrival"]), iso(times["arrival"]), None),
        ("customs_clearance", "completed", iso(times["arrival"]), iso(times["customs_clearance"]), "CBP-5521"),
        ("last_mile", "completed", iso(times["last_mile"]), iso(times["last_mile"]), "9400100000000000000001"),
    ]
    assert legs["export_booking"]["data"] == {"carrier": "Kuehne+Nagel", "requested_date": "2026-03-16"}
    assert legs["export_declaration"]["data"]["lines"] == [
        {"sku": "TEA-001", "quantity": 2, "hs_code": "0902300000", "declared_value": "25.00", "total_value": "50.00",
         "currency": "CNY", "origin_country": "CN"},
        {"sku": "MUG-002", "quantity": 1, "hs_code": "0902300000", "declared_value": "39.90", "total_value": "39.90",
         "currency": "CNY", "origin_country": "CN"},
    ]
    timeline = [(e["name"], e["from_state"], e["to_state"], e["at"]) for e in detail["events"]]
    assert timeline == [
        ("order.created", None, "pending_review", iso(created_at)),
        ("order.confirm", "pending_review", "confirmed", iso(created_at)),
        ("shipment.created", None, "allocated", iso(created_at)),
        ("order.allocate", "confirmed", "allocated", iso(created_at)),
        ("shipment.start_pick", "allocated", "picking", iso(times["pick"])),
        ("order.start_fulfillment", "allocated", "in_fulfillment", iso(times["pick"])),
        ("shipment.finish_pick", "picking", "picked", iso(times["finish-pick"])),
        ("shipment.check", "picked", "checked", iso(times["check"])),
        ("shipment.pack", "checked", "packed", iso(times["pack"])),
        ("shipment.carrier_chosen", None, None, iso(times["pack"])),
        ("shipment.hand_over", "packed", "handed_over", iso(times["hand-over"])),
        ("shipment.booked", None, None, iso(times["hand-over"])),
        ("shipment.ship", "handed_over", "in_transit", iso(times["ship"])),
        ("order.ship", "in_fulfillment", "shipped", iso(times["ship"])),
        ("shipment.export_booking", None, None, iso(times["export_booking"])),
        ("shipment.export_declaration", None, None, iso(times["export_declaration"])),
        ("shipment.declare_export", "in_transit", "export_declared", iso(times["export_declaration"])),
        ("shipment.international_transport", None, None, iso(times["international_transport"])),
        ("shipment.arrival", None, None, iso(times["arrival"])),
        ("shipment.enter_customs", "export_declared", "in_customs", iso(times["arrival"])),
        ("shipment.customs_clearance", None, None, iso(times["customs_clearance"])),
        ("shipment.clear_customs", "in_customs", "cleared", iso(times["customs_clearance"])),
        ("shipment.last_mile", None, None, iso(times["last_mile"])),
        ("shipment.out_for_delivery", "cleared", "out_for_delivery", iso(times["last_mile"])),
        ("shipment.deliver", "out_for_delivery", "delivered", iso(delivered_at)),
        ("order.deliver", "shipped", "delivered", iso(delivered_at)),
    ]
    event = {e["name"]: e for e in detail["events"]}
    assert (event["shipment.carrier_chosen"]["data"]["carrier"], event["shipment.carrier_chosen"]["data"]["rule"]) == (
        "dhl", "intl_air")
    assert event["shipment.booked"]["data"] == {
        "shipment": shipment, "carrier": "dhl", "service": "intl_air", "tracking_number": f"DHL{number}1"}
    assert event["shipment.ship"]["data"] == {
        "shipment": shipment, "carrier": "dhl", "tracking_number": "DHL-1234567890"}
    transport = event["shipment.international_transport"]
    assert (transport["data"]["reference"], transport["data"]["started_at"], transport["data"]["status"]) == (
        "CA987", raw(times["international_transport"]), "in_progress")


def iso(at) -> str:
    """A time as the API's time fields carry it."""
    return at.isoformat().replace("+00:00", "Z")


def raw(at) -> str:
    """A time as stored inside a leg's or an event's data."""
    return at.isoformat()


def test_a_declaration_with_missing_data_names_each_line_field_and_writes_nothing(client, ordo, database):
    export_warehouse(ordo, origin=None)
    with ordo.transaction() as uow:
        mug = uow.session.scalars(select(Sku).where(Sku.code == "MUG-002")).one()
        mug.hs_code, mug.declared_value = None, None
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    shipment = handed_over(client, ordo, number)
    assert leg(client, shipment, "export_booking", action="book", reference="BK-1", carrier="K+N",
               requested_date="2026-03-16").status_code == 200
    before = database.row_counts()

    r = leg(client, shipment, "export_declaration", action="declare")

    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [
        ("lines[0].origin_country", "required"),
        ("lines[1].hs_code", "required"),
        ("lines[1].declared_value", "required"),
        ("lines[1].origin_country", "required"),
    ]
    assert database.row_counts() == before
    legs = client.get(f"/api/v1/shipments/{shipment}/legs").json()
    assert (legs["status"], legs["next_leg"]) == ("in_transit", "export_declaration")
    assert [(d["index"], d["sku"], d["hs_code"], d["origin_country"]) for d in legs["declaration_lines"]] == [
        (0, "TEA-001", "0902300000", None), (1, "MUG-002", None, None)]

    # An invalid override is named the same way; valid overrides complete the declaration.
    bad = leg(client, shipment, "export_declaration", action="declare",
              lines=[{"origin_country": "CN"}, {"hs_code": "69111", "declared_value": "0", "origin_country": "CN"}])
    assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [
        ("lines[1].hs_code", "hs_code_invalid"), ("lines[1].declared_value", "not_positive")]
    assert database.row_counts() == before
    good = leg(client, shipment, "export_declaration", action="declare",
               lines=[{"origin_country": "CN"}, {"hs_code": "691110", "declared_value": "20", "origin_country": "CN"}])
    assert good.status_code == 200, good.text
    assert good.json()["status"] == "export_declared"


def test_legs_out_of_order_are_refused_naming_the_leg_expected(client, ordo, database):
    export_warehouse(ordo)
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    shipment = handed_over(client, ordo, number)
    before = database.row_counts()

    r = leg(client, shipment, "arrival", action="arrive")

    assert r.status_code == 409
    assert (r.json()["code"], r.json()["detail"]) == (
        "conflict", "The legs happen in order: arrival cannot be recorded now; the next leg is export_booking.")
    assert database.row_counts() == before
    # The wrong action for a leg is bad input; a leg the service type does not plan is refused.
    wrong = leg(client, shipment, "export_booking", action="declare")
    assert (wrong.status_code, [(e["field"], e["code"]) for e in wrong.json()["errors"]]) == (
        422, [("action", "one_of")])
    missing = leg(client, shipment, "export_booking", action="book")
    assert [e["field"] for e in missing.json()["errors"]] == ["reference", "carrier", "requested_date"]
    assert leg(client, shipment, "export_booking", action="book", reference="BK-1", carrier="K+N",
               requested_date="2026-03-16").status_code == 200
    twice = leg(client, shipment, "export_booking", action="book", reference="BK-2", carrier="K+N",
                requested_date="2026-03-16")
    assert (twice.status_code, twice.json()["detail"]) == (409, "The export_booking leg is already completed.")
    zh = client.post(f"/api/v1/shipments/{shipment}/legs/customs_clearance", json={"action": "clear"},
                     headers={"Accept-Language": "zh-CN"})
    assert zh.json()["detail"] == "各环节须按顺序进行：现在不能记录customs_clearance；下一个环节是export_declaration。"


def test_a_shipment_must_leave_the_warehouse_before_its_export_is_declared(client, ordo, database):
    export_warehouse(ordo)
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    shipment = handed_over(client, ordo, number, ship=False)
    assert leg(client, shipment, "export_booking", action="book", reference="BK-1", carrier="K+N",
               requested_date="2026-03-16").status_code == 200
    before = database.row_counts()
    r = leg(client, shipment, "export_declaration", action="declare")
    assert (r.status_code, r.json()["code"]) == (409, "illegal_transition")
    assert "handed_over" in r.json()["detail"]
    assert database.row_counts() == before


def declared_and_arrived(client, ordo) -> tuple[str, str]:
    export_warehouse(ordo)
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    shipment = handed_over(client, ordo, number)
    for name, body in [
        ("export_booking", {"action": "book", "reference": "BK-1", "carrier": "K+N", "requested_date": "2026-03-16"}),
        ("export_declaration", {"action": "declare"}),
        ("international_transport", {"action": "depart", "reference": "MU587"}),
        ("arrival", {"action": "arrive"}),
    ]:
        assert leg(client, shipment, name, **body).status_code == 200, name
    return number, shipment


def test_customs_holds_the_goods_with_a_reason_then_clears_them(client, ordo, clock):
    number, shipment = declared_and_arrived(client, ordo)
    clock.advance(timedelta(hours=6))
    held_at = clock.now()

    held = leg(client, shipment, "customs_clearance", action="hold", reason="invoice value queried")

    assert held.status_code == 200, held.text
    view = held.json()
    assert view["status"] == "in_customs"
    customs = next(g for g in view["legs"] if g["leg"] == "customs_clearance")
    assert (customs["status"], customs["data"]["holds"]) == (
        "held", [{"reason": "invoice value queried", "at": raw(held_at), "resolved_at": None}])
    with ordo.reading() as uow:
        alerts = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "shipment.customs_held")).all()
        assert [(m.key, m.audience, m.payload["reason"]) for m in alerts] == [
            (f"shipment.customs_held:{shipment}:1", "logistics", "invoice value queried")]
    # The last mile cannot start while customs holds the goods.
    early = leg(client, shipment, "last_mile", action="hand_over", carrier="USPS", tracking_number="94001")
    assert early.json()["detail"] == (
        "The legs happen in order: last_mile cannot be recorded now; the next leg is customs_clearance.")

    clock.advance(timedelta(hours=20))
    cleared = leg(client, shipment, "customs_clearance", action="clear")

    assert cleared.json()["status"] == "cleared"
    customs = next(g for g in cleared.json()["legs"] if g["leg"] == "customs_clearance")
    assert (customs["status"], customs["completed_at"], customs["data"]["holds"]) == (
        "completed", iso(clock.now()),
        [{"reason": "invoice value queried", "at": raw(held_at), "resolved_at": raw(clock.now())}])
    events = [(e["name"], e["reason"]) for e in client.get(f"/api/v1/orders/{number}").json()["events"]]
    assert events[-3:] == [
        ("shipment.customs_held", "invoice value queried"),
        ("shipment.customs_clearance", None),
        ("shipment.clear_customs", None),
    ]
    resolved = next(e for e in client.get(f"/api/v1/orders/{number}").json()["events"]
                if e["name"] == "shipment.customs_clearance")
    assert resolved["data"]["resolves"] == ["invoice value queried"]


def test_an_international_shipment_cannot_skip_customs_through_order_actions(client, ordo, database):
    export_warehouse(ordo)
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    handed_over(client, ordo, number)
    before = database.row_counts()
    for action in ("out-for-delivery", "deliver"):
        r = client.post(f"/api/v1/orders/{number}/{action}", json={})
        assert (r.status_code, r.json()["detail"]) == (
            409, f"Shipment {number}-1 is an international shipment and has not cleared customs.")
    assert database.row_counts() == before


def test_an_overseas_warehouse_order_skips_the_international_legs(client, ordo, clock):
    with ordo.transaction() as uow:
        uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one().origin_country = "CN"
    payload = intl_order("overseas_warehouse", external_id="WEB-9002",
                         lines=[{"sku": "TEA-001", "quantity": 2, "unit_price": "25.00"}],
                         shipping_fee="20.00", total="70.00",
                         payment={"method": "paypal", "status": "paid", "amount_paid": "70.00"})
    created = client.post("/api/v1/orders", json=payload)
    number = created.json()["number"]
    # Overseas-warehouse service needs the two-level review (policy).
    first = user_token(ordo, "cs1", ["customer_service"])
    head = user_token(ordo, "head1", ["reviewer"])
    for token in (first, head):
        r = client.post(f"/api/v1/orders/{number}/confirm", json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    detail = client.get(f"/api/v1/orders/{number}").json()
    assert (detail["status"], detail["shipments"][0]["warehouse"]) == ("allocated", "WH-LA")
    shipment = handed_over(client, ordo, number, ship=False)
    assert [(g["leg"], g["status"]) for g in client.get(f"/api/v1/shipments/{shipment}/legs").json()["legs"]] == [
        ("last_mile", "pending")]
    refused = leg(client, shipment, "customs_clearance", action="clear")
    assert (refused.status_code, refused.json()["detail"]) == (
        409, 'Service type "overseas_warehouse" has no customs_clearance leg; its legs: last_mile.')

    clock.advance(timedelta(hours=2))
    r = leg(client, shipment, "last_mile", action="hand_over", carrier="OnTrac", tracking_number="OT-77")
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/orders/{number}/deliver", json={}).status_code == 200

    detail = client.get(f"/api/v1/orders/{number}").json()
    assert detail["status"] == "delivered"
    assert (detail["shipments"][0]["carrier"], detail["shipments"][0]["tracking_number"]) == ("OnTrac", "OT-77")
    names = [e["name"] for e in detail["events"]]
    assert names[names.index("shipment.hand_over"):] == [
        "shipment.hand_over", "shipment.booked", "shipment.last_mile", "shipment.ship", "order.ship",
        "shipment.out_for_delivery",
        "shipment.deliver", "order.deliver",
    ]
    assert not {"shipment.declare_export", "shipment.enter_customs", "shipment.clear_customs"} & set(names)
    with ordo.reading() as uow:
        tea = uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one()
        assert tea.declared_value == Decimal("25.00")


def test_a_domestic_order_has_no_legs(client):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    view = client.get(f"/api/v1/shipments/{number}-1/legs").json()
    assert (view["service_type"], view["legs"], view["next_leg"], view["declaration_lines"]) == (
        "domestic_express", [], None, [])
    assert client.get(f"/api/v1/orders/{number}").json()["shipments"][0]["legs"] == []
    r = leg(client, f"{number}-1", "last_mile", action="hand_over", carrier="SF", tracking_number="SF1")
    assert (r.status_code, r.json()["detail"]) == (
        409, 'Service type "domestic_express" has no last_mile leg; its legs: -.')
    assert client.get("/api/v1/shipments/NOPE-1/legs").status_code == 404


def test_logistics_records_legs_and_the_warehouse_may_only_read_them(client, ordo, database):
    export_warehouse(ordo)
    number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
    shipment = handed_over(client, ordo, number)
    packer = {"Authorization": f"Bearer {user_token(ordo, 'packer', ['warehouse'])}"}
    clerk = {"Authorization": f"Bearer {user_token(ordo, 'clerk', ['logistics'])}"}
    body = {"action": "book", "reference": "BK-1", "carrier": "K+N", "requested_date": "2026-03-16"}
    before = database.row_counts()

    refused = client.post(f"/api/v1/shipments/{shipment}/legs/export_booking", json=body, headers=packer)

    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert database.row_counts() == before
    assert client.get(f"/api/v1/shipments/{shipment}/legs", headers=packer).status_code == 200
    booked = client.post(f"/api/v1/shipments/{shipment}/legs/export_booking", json=body, headers=clerk)
    assert booked.status_code == 200
    assert booked.json()["legs"][0]["actor"] == "clerk"
