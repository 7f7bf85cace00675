"""Packing, carrier choice, booking, tracking, stalled shipments and refusal follow-ups — over HTTP
and the CLI, on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ordo.adapters.carriers.base import CarrierEvent, FakeCarrier
from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common, main, orders, shipping
from ordo.entrypoints.worker.runner import run_round
from ordo.fulfillment.states import ShipmentTrigger
from ordo.fulfillment.tables import Shipment
from ordo.inventory.handlers import receive
from ordo.inventory.queries import verify
from ordo.inventory.tables import Reservation, Stock, StockMovement, Warehouse
from ordo.kernel.errors import Problem, ValidationFailed
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers as order_handlers
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.shipping import handlers, queries, steps
from ordo.shipping.tables import FollowupTask, Parcel, ShippingRecord, TrackingEvent
from ordo.sla.handlers import scan as sla_scan
from tests.conftest import T0
from tests.factories import load_file, order_payload, scan_before, side_by_side, user_token, with_carriers

WALK_TO_CHECKED = ("pick", "finish-pick", "check")
BOX = {"weight_g": 800, "length_mm": 200, "width_mm": 150, "height_mm": 100}


@pytest.fixture
def fake() -> FakeCarrier:
    return FakeCarrier(code="yto")


@pytest.fixture
def app(database, clock, fake) -> Ordo:
    ordo = with_carriers(database, clock, {"yto": fake})
    with ordo.transaction() as uow:  # a bulky appliance outside the furniture template, stocked in Beijing only
        s = uow.session
        s.add(Sku(code="FRIDGE-009", barcode="6900000000099", name="Fridge", category="appliances", traits=["bulky"],
                  price=Decimal("1999.00"), weight_g=40000))
        s.flush()
        sku = s.scalar(select(Sku.id).where(Sku.code == "FRIDGE-009"))
        wh = s.scalar(select(Warehouse.id).where(Warehouse.code == "WH-BJ"))
        receive(s, warehouse_id=wh, sku_id=sku, quantity=10, actor="test", at=uow.clock.now())
    return ordo


@pytest.fixture
def client(app):
    with TestClient(create_app(app)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(app, 'root', ['admin'])}"
        c.headers["Accept-Language"] = "en"
        yield c


_ids = iter(range(1, 10_000))


def order(client, *lines: tuple[str, int]) -> str:
    prices = {"TEA-001": "25.00", "MUG-002": "39.90", "LYC-003": "88.00", "OIL-004": "59.00",
              "SOFA-005": "2999.00", "PHONE-006": "3999.00", "FRIDGE-009": "1999.00"}  # under the second review
    body_lines = [{"sku": sku, "quantity": q, "unit_price": prices[sku]} for sku, q in lines]
    total = sum(Decimal(prices[sku]) * q for sku, q in lines) + Decimal("5.00")
    skus = {sku for sku, _ in lines}
    service = ("cold_chain" if "LYC-003" in skus else
               "domestic_freight" if skus & {"SOFA-005", "FRIDGE-009"} else "domestic_express")
    payload = order_payload(external_id=f"SHIP-{next(_ids)}", lines=body_lines, total=str(total), service_type=service,
                            payment={"method": "alipay", "status": "paid", "amount_paid": str(total)})
    r = client.post("/api/v1/orders", json=payload)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    if r.json()["status"] == "pending_review":  # bulky goods: two levels of review, by two people
        assert client.post(f"/api/v1/orders/{number}/confirm", json={}).status_code == 200
        head = {"Authorization": f"Bearer {user_token(client.app.state.ordo, f'head-{number}', ['reviewer'])}"}
        r = client.post(f"/api/v1/orders/{number}/confirm", json={}, headers=head)
    assert r.json()["status"] == "allocated", r.text
    return number


def checked(client, *lines: tuple[str, int]) -> str:
    number = order(client, *lines)
    for step in WALK_TO_CHECKED:
        scan_before(client.app.state.ordo, number, step)  # the pick and check scans the guards ask for
        assert client.post(f"/api/v1/orders/{number}/{step}", json={}).status_code == 200
    return number


def pack(client, shipment: str, *, confirmed: list[str] | None = None, parcels: list[dict] | None = None,
         logger: str | None = None) -> Any:
    instructions = client.get(f"/api/v1/shipments/{shipment}/packing").json()["instructions"]
    body: dict[str, Any] = {"confirmed": instructions if confirmed is None else confirmed,
                            "parcels": [BOX] if parcels is None else parcels}
    if logger:
        body["temperature_logger_id"] = logger
    return client.post(f"/api/v1/shipments/{shipment}/pack", json=body)


def handed_over(client, *lines: tuple[str, int], logger: str | None = None) -> str:
    number = checked(client, *lines)
    for s in client.get(f"/api/v1/orders/{number}").json()["shipments"]:
        assert pack(client, s["number"], logger=logger).status_code == 200
    assert client.post(f"/api/v1/orders/{number}/hand-over", json={}).status_code == 200
    return number


def use_app(monkeypatch, app: Ordo) -> None:
    """`ordo …` commands against the test's database."""
    for module in (common, orders, shipping):
        monkeypatch.setattr(module, "ordo", lambda: app)


def count(app: Ordo, table: Any) -> int:
    with app.reading() as uow:
        return uow.session.scalar(select(func.count()).select_from(table)) or 0


def status_of(client, number: str) -> tuple[str, str, list[str]]:
    o = client.get(f"/api/v1/orders/{number}").json()
    return o["status"], o["shipping_progress"], [s["status"] for s in o["shipments"]]


# --- packing ------------------------------------------------------------------------------------


def test_packing_instructions_follow_the_goods_traits(client):
    fragile_and_liquid = checked(client, ("MUG-002", 1), ("OIL-004", 1))
    fresh = checked(client, ("LYC-003", 1))

    assert client.get(f"/api/v1/shipments/{fragile_and_liquid}-1/packing").json() == {
        "shipment": f"{fragile_and_liquid}-1", "status": "checked",
        "instructions": ["cushioning", '"fragile" label', "sealed bag"], "temperature_logger_required": False,
    }
    assert client.get(f"/api/v1/shipments/{fresh}-1/packing").json() == {
        "shipment": f"{fresh}-1", "status": "checked",
        "instructions": ["insulated box", "temperature logger"], "temperature_logger_required": True,
    }
    assert client.get("/api/v1/shipments/NOPE-1/packing").status_code == 404


@pytest.mark.parametrize(
    ("lines", "confirmed", "parcels", "logger", "message"),
    [
        ([("MUG-002", 1)], ["cushioning"], None, None,
         'cannot be packed: packing instructions not confirmed: "fragile" label.'),
        ([("TEA-001", 1)], [], [], None, "cannot be packed: no parcel has been weighed and measured."),
        ([("LYC-003", 1)], None, None, None,
         "holds perishable goods: a temperature-logger id is required to pack it."),
    ],
    ids=["instruction-unconfirmed", "no-parcel", "no-logger"],
)
def test_pack_is_refused_until_everything_is_done_and_leaves_no_parcel(client, app, lines, confirmed, parcels,
                                                                       logger, message):
    number = checked(client, *lines)
    refused = pack(client, f"{number}-1", confirmed=confirmed, parcels=parcels, logger=logger)
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"Shipment {number}-1 {message}"
    assert count(app, Parcel) == 0
    assert status_of(client, number)[2] == ["checked"]
    # The order action passes the same guard: nothing was recorded, so it is refused too.
    via_order = client.post(f"/api/v1/orders/{number}/pack", json={})
    assert via_order.status_code == 409
    assert count(app, Parcel) == 0


def test_pack_stores_parcels_and_a_logger_and_fires_pack(client, app):
    number = checked(client, ("LYC-003", 1))
    packed = pack(client, f"{number}-1", parcels=[BOX, {**BOX, "weight_g": 300}], logger="TL-42")
    assert packed.status_code == 200, packed.text
    body = packed.json()
    assert body["status"] == "packed"
    assert body["temperature_logger_id"] == "TL-42"
    assert body["confirmed"] == ["insulated box", "temperature logger"]
    # sf_cold divides by 6000: 20×15×10 cm = 3000 cm³ → 500 g volumetric.
    assert [(p["seq"], p["weight_g"], p["volumetric_weight_g"], p["chargeable_weight_g"]) for p in body["parcels"]] \
        == [(1, 800, 500, 800), (2, 300, 500, 500)]
    assert body["chargeable_weight_g"] == 1300
    assert count(app, Parcel) == 2
    again = pack(client, f"{number}-1", logger="TL-42")
    assert again.status_code == 409
    assert again.json()["detail"] == f"Shipment {number}-1 is packed; packing is recorded only for a checked shipment."


# --- carrier choice -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "weight", "carrier", "rule", "reason"),
    [
        ([("TEA-001", 1)], 800, "yto", "light_parcel", "parcels up to 1 kg go economy express"),
        ([("TEA-001", 1)], 1500, "zto", "default", "standard express"),
        ([("PHONE-006", 1)], 800, "sf", "electronics", "electronics go with the premium carrier"),
        ([("LYC-003", 1)], 800, "sf_cold", "cold_chain", "fresh goods travel cold chain"),
        ([("FRIDGE-009", 1)], 800, "deppon", "bulky", "bulky goods need freight / home delivery"),
        ([("SOFA-005", 1)], 800, "deppon", "category:furniture", "carrier template of category furniture"),
    ],
    ids=["light", "default", "electronics", "perishable", "bulky", "category-template"],
)
def test_carrier_is_chosen_when_packed_and_explained(client, app, lines, weight, carrier, rule, reason):
    number = checked(client, *lines)
    packed = pack(client, f"{number}-1", parcels=[{**BOX, "weight_g": weight}], logger="TL-1")
    assert packed.status_code == 200, packed.text
    assert (packed.json()["carrier"], packed.json()["carrier_rule"], packed.json()["carrier_reason"]) == (
        carrier, rule, reason)
    with app.reading() as uow:
        event = uow.session.scalars(select(Event).where(Event.name == "shipment.carrier_chosen")).one()
        uow.session.expunge(event)
    assert event.reason == reason
    assert event.data["carrier"] == carrier and event.data["rule"] == rule
    assert event.data["facts"]["weight_g"] == weight


def test_logistics_overrides_the_carrier_with_a_reason_and_weights_follow(client, app):
    number = checked(client, ("TEA-001", 1))
    big = {"weight_g": 800, "length_mm": 400, "width_mm": 300, "height_mm": 200}  # 24 000 cm³
    assert pack(client, f"{number}-1", parcels=[big]).json()["parcels"][0]["chargeable_weight_g"] == 3000  # yto /8000
    logistics = {"Authorization": f"Bearer {user_token(app, 'lena', ['logistics'])}"}
    warehouse = {"Authorization": f"Bearer {user_token(app, 'wang', ['warehouse'])}"}

    unknown = client.post(f"/api/v1/shipments/{number}-1/carrier", json={"carrier": "ems", "reason": "x"},
                          headers=logistics)
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["carrier"]
    assert client.post(f"/api/v1/shipments/{number}-1/carrier", json={"carrier": "sf", "reason": "x"},
                       headers=warehouse).status_code == 403
    changed = client.post(f"/api/v1/shipments/{number}-1/carrier",
                          json={"carrier": "sf", "reason": "customer pays for next-day"}, headers=logistics)

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["carrier"], body["carrier_rule"], body["carrier_reason"], body["carrier_overridden"]) == (
        "sf", "override", "customer pays for next-day", True)
    assert body["parcels"][0]["chargeable_weight_g"] == 4000  # sf divides by 6000
    with app.reading() as uow:
        names = uow.session.scalars(select(Event.name).where(Event.name.like("shipment.carrier%"))
                                    .order_by(Event.id)).all()
    assert names == ["shipment.carrier_chosen", "shipment.carrier_overridden"]
    assert client.post(f"/api/v1/orders/{number}/hand-over", json={}).status_code == 200
    late = client.post(f"/api/v1/shipments/{number}-1/carrier", json={"carrier": "zto", "reason": "x"},
                       headers=logistics)
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"Shipment {number}-1 is handed_over; the carrier can be changed only while it is packed.")


# --- hand-over and booking -----------------------------------------------------------------------------


def test_hand_over_books_with_the_carrier_once_and_ship_uses_the_booking(client, app, fake):
    number = checked(client, ("TEA-001", 1))
    pack(client, f"{number}-1")
    # A hand-over whose transaction fails after the carrier booked: the retry gets the same number.
    with pytest.raises(RuntimeError), app.transaction() as uow:
        order_handlers.advance_shipments(uow, number=number, trigger=ShipmentTrigger.HAND_OVER,
                                          actor=Actor.system())
        raise RuntimeError("crash before commit")
    handed = client.post(f"/api/v1/orders/{number}/hand-over", json={})
    assert handed.status_code == 200, handed.text
    assert handed.json()["shipments"][0]["tracking_number"] == "FAKE000001"
    assert [(r.shipment, r.service_type, r.weight_g, r.parcels, r.destination_country, r.destination_postcode)
            for r in fake.booked] == [(f"{number}-1", "domestic_express", 800, 1, "CN", "200120")]
    with app.transaction() as uow:  # booking again is a no-op
        shipment = uow.session.scalars(select(Shipment).where(Shipment.number == f"{number}-1")).one()
        assert handlers.book(uow, shipment, actor="test") == "FAKE000001"
    assert len(fake.booked) == 1

    shipped = client.post(f"/api/v1/orders/{number}/ship", json={})
    assert shipped.status_code == 200, shipped.text
    s = shipped.json()["shipments"][0]
    assert (s["status"], s["carrier"], s["tracking_number"]) == ("in_transit", "yto", "FAKE000001")


def test_a_manual_carrier_takes_the_typed_number_or_makes_one(client):
    typed = checked(client, ("PHONE-006", 1))  # sf: no integration, a manual carrier
    pack(client, f"{typed}-1")
    r = client.post(f"/api/v1/orders/{typed}/hand-over", json={"tracking_number": "SF998877"})
    assert r.json()["shipments"][0]["tracking_number"] == "SF998877"
    generated = checked(client, ("PHONE-006", 1))
    pack(client, f"{generated}-1")
    r = client.post(f"/api/v1/orders/{generated}/hand-over", json={})
    assert r.json()["shipments"][0]["tracking_number"] == f"SF{generated}1"


def test_hand_over_needs_a_carrier(client, app):
    number = checked(client, ("TEA-001", 1))
    pack(client, f"{number}-1")
    with app.transaction() as uow:
        uow.session.scalars(select(Shipment).where(Shipment.number == f"{number}-1")).one().carrier = None
    refused = client.post(f"/api/v1/orders/{number}/hand-over", json={})
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"Shipment {number}-1 has no carrier yet: pack it first or choose a carrier."
    assert status_of(client, number)[2] == ["packed"]


def test_label_and_packing_slip_views(client, app):
    number = handed_over(client, ("MUG-002", 2))
    with app.reading() as uow:
        label = queries.label_view(uow.session, f"{number}-1")
        slip = queries.packing_slip_view(uow.session, f"{number}-1")
    assert label == queries.LabelView(
        shipment=f"{number}-1", order=number, carrier_code="yto", carrier_name="YTO Economy",
        tracking_number="FAKE000001", service_type="domestic_express", sender_name="上海仓", sender_address="上海 CN",
        recipient_name="张伟", recipient_phone=label.recipient_phone,
        recipient_address_lines=("上海市 上海市 浦东新区", label.recipient_address_lines[1]), recipient_country="CN",
        recipient_postcode="200120", parcels=1, chargeable_weight_g=800,
    )
    assert label.recipient_address_lines[1].startswith("世纪大道")
    assert slip == queries.PackingSlipView(f"{number}-1", number, (queries.SlipLine("MUG-002", "Mug-002", 2),),
                                           ("cushioning", '"fragile" label'))


# --- tracking ------------------------------------------------------------------------------------------


def track(client, shipment: str, kind: str, at, **extra: Any) -> Any:
    return client.post(f"/api/v1/shipments/{shipment}/tracking", json={"kind": kind, "at": at.isoformat(), **extra})


def test_tracking_events_move_the_shipment_and_the_order_once_each(client, app):
    number = handed_over(client, ("TEA-001", 1))
    s = f"{number}-1"
    assert track(client, s, "in_transit", T0 + timedelta(hours=1), location="上海").json() == {
        "stored": 1, "duplicates": 0}
    assert track(client, s, "in_transit", T0 + timedelta(hours=1), location="上海").json() == {
        "stored": 0, "duplicates": 1}
    assert status_of(client, number) == ("shipped", "shipped", ["in_transit"])
    assert track(client, s, "in_transit", T0 + timedelta(hours=5), location="杭州").status_code == 200
    assert track(client, s, "out_for_delivery", T0 + timedelta(hours=20)).status_code == 200
    assert track(client, s, "delivered", T0 + timedelta(hours=22)).status_code == 200
    assert status_of(client, number) == ("delivered", "delivered", ["delivered"])
    read = client.get(f"/api/v1/shipments/{s}/shipping").json()
    assert [(e["kind"], e["location"]) for e in read["events"]] == [
        ("in_transit", "上海"), ("in_transit", "杭州"), ("out_for_delivery", None), ("delivered", None)]
    assert count(app, TrackingEvent) == 4


def test_a_tracking_event_the_state_does_not_allow_is_refused_and_not_stored(client, app):
    number = checked(client, ("TEA-001", 1))
    pack(client, f"{number}-1")
    refused = track(client, f"{number}-1", "delivered", T0)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f'Shipment {number}-1 is packed; the tracking event "delivered" is not allowed.')
    assert count(app, TrackingEvent) == 0
    bad = client.post(f"/api/v1/shipments/{number}-1/tracking", json={"kind": "teleported", "at": "yesterday"})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["at", "kind"]


def test_csv_import_is_all_or_nothing_and_names_every_bad_cell(client, app):
    number = handed_over(client, ("TEA-001", 1))
    csv_headers = {"Content-Type": "text/csv"}
    bad = ("tracking_number,event,at,location\n"
           "FAKE000001,in_transit,2026-03-15T10:00:00+08:00,上海\n"
           "FAKE000001,teleported,2026-03-15T11:00:00+08:00,\n"
           ",delivered,yesterday,\n")
    r = client.post("/api/v1/tracking/import", content=bad.encode(), headers=csv_headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rows[1].event", "rows[2].tracking_number", "rows[2].at"]
    unknown = client.post("/api/v1/tracking/import", headers=csv_headers,
                          content=b"tracking_number,event,at\nNOPE1,in_transit,2026-03-15T10:00:00+08:00\n")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["message"] == 'rows[0].tracking_number: no shipment has tracking number "NOPE1".'
    not_allowed = ("tracking_number,event,at\n"
                   "FAKE000001,in_transit,2026-03-15T10:00:00+08:00\n"
                   "FAKE000001,refused,2026-03-15T12:00:00+08:00\n")  # refused before out for delivery
    r = client.post("/api/v1/tracking/import", content=not_allowed.encode(), headers=csv_headers)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f'rows[1]: shipment {number}-1 is in_transit; the tracking event "refused" is not allowed.')
    assert count(app, TrackingEvent) == 0
    assert status_of(client, number)[2] == ["handed_over"]


def test_csv_import_rolls_a_split_order_up_to_partially_delivered(client, app, monkeypatch, tmp_path):
    number = handed_over(client, ("TEA-001", 1), ("FRIDGE-009", 1))
    shipments = {s["warehouse"]: s for s in client.get(f"/api/v1/orders/{number}").json()["shipments"]}
    tea, fruit = shipments["WH-SH"]["tracking_number"], shipments["WH-BJ"]["tracking_number"]
    assert (shipments["WH-SH"]["number"], tea) == (f"{number}-1", "FAKE000001")
    assert (shipments["WH-BJ"]["number"], fruit) == (f"{number}-2", f"DEPPON{number}2")
    first = (f"tracking_number,event,at\n{tea},in_transit,2026-03-15T10:00:00+08:00\n")
    r = client.post("/api/v1/tracking/import", content=first.encode(), headers={"Content-Type": "text/csv"})
    assert r.json() == {"stored": 1, "duplicates": 0}
    assert status_of(client, number) == ("in_fulfillment", "partially_shipped", ["in_transit", "handed_over"])

    use_app(monkeypatch, app)
    file = tmp_path / "tracking.csv"
    file.write_text("tracking_number,event,at,location,note\n"
                    f"{tea},in_transit,2026-03-15T10:00:00+08:00,,\n"  # already stored
                    f"{fruit},in_transit,2026-03-15T11:00:00+08:00,北京,\n"
                    f"{tea},delivered,2026-03-16T09:00:00+08:00,上海,front desk\n", encoding="utf-8")
    result = CliRunner().invoke(main.app, ["tracking", "import", str(file)], env={"ORDO_LOCALE": "en"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == '{"stored": 2, "duplicates": 1}'
    assert status_of(client, number) == ("shipped", "partially_delivered", ["delivered", "in_transit"])
    file.write_text("tracking_number,event,at\nFAKE000001,lost,oops\n", encoding="utf-8")
    bad = CliRunner().invoke(main.app, ["tracking", "import", str(file)], env={"ORDO_LOCALE": "en"})
    assert bad.exit_code == 2
    assert "rows[0].at" in bad.output
    assert count(app, TrackingEvent) == 3


# --- stalled shipments -----------------------------------------------------------------------------------


def test_a_shipment_without_movement_for_the_limit_is_flagged_once_and_cleared_by_movement(client, app, clock,
                                                                                          monkeypatch):
    number = handed_over(client, ("TEA-001", 1))
    assert client.post(f"/api/v1/orders/{number}/ship", json={}).status_code == 200  # moving from T0

    def scan() -> list[str]:
        """The SLA scan breaches the no-movement clock; the shipments flagged stalled after it."""
        with app.transaction() as uow:
            sla_scan(uow)
        with app.reading() as uow:
            return queries.stalled(uow.session)

    def alerts() -> list[tuple[str, str, str]]:
        with app.reading() as uow:
            return [(m.topic, m.audience, m.key) for m in uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == "shipment.stalled").order_by(OutboxMessage.id))]

    clock.advance(timedelta(hours=24))
    assert scan() == []  # exactly the limit is not yet over it
    clock.advance(timedelta(minutes=1))
    assert scan() == [f"{number}-1"]
    assert scan() == [f"{number}-1"]  # still stalled, told once
    use_app(monkeypatch, app)
    assert CliRunner().invoke(main.app, ["tracking", "stalled"]).output.strip() == f'{{"stalled": ["{number}-1"]}}'
    assert alerts() == [("shipment.stalled", "logistics", f"shipment.stalled:{number}-1:{T0.isoformat()}")]
    assert client.get(f"/api/v1/shipments/{number}-1/shipping").json()["stalled"] is True

    moved_at = clock.now()
    assert track(client, f"{number}-1", "in_transit", moved_at, location="南京").status_code == 200
    assert client.get(f"/api/v1/shipments/{number}-1/shipping").json()["stalled"] is False
    assert CliRunner().invoke(main.app, ["tracking", "stalled"]).output.strip() == '{"stalled": []}'
    clock.advance(timedelta(hours=24, minutes=1))
    assert scan() == [f"{number}-1"]
    assert [k for _, _, k in alerts()][1] == f"shipment.stalled:{number}-1:{moved_at.isoformat()}"
    with app.reading() as uow:
        names = uow.session.scalars(select(Event.name).where(Event.name.like("shipment.stall%"))
                                    .order_by(Event.id)).all()
    assert names == ["shipment.stalled", "shipment.stalled"]


# --- refusal follow-up --------------------------------------------------------------------------------------


def test_a_refusal_opens_a_follow_up_task_for_customer_service(client, app, clock, monkeypatch):
    number = handed_over(client, ("TEA-001", 1))
    track(client, f"{number}-1", "in_transit", T0)
    track(client, f"{number}-1", "out_for_delivery", T0 + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    assert track(client, f"{number}-1", "refused", T0 + timedelta(hours=2), note="customer not home").json() == {
        "stored": 1, "duplicates": 0}
    assert status_of(client, number)[2] == ["refused"]
    cs = {"Authorization": f"Bearer {user_token(app, 'cathy', ['customer_service'])}"}
    tasks = client.get("/api/v1/followups", params={"status": "open"}, headers=cs).json()
    assert [(t["kind"], t["order"], t["shipment"], t["status"], t["due_at"]) for t in tasks] == [
        ("refusal_contact", number, f"{number}-1", "open", "2026-03-15T06:00:00Z")]
    warehouse = {"Authorization": f"Bearer {user_token(app, 'wang', ['warehouse'])}"}
    assert client.get("/api/v1/followups", headers=warehouse).status_code == 403

    done = client.post(f"/api/v1/followups/{tasks[0]['id']}/done", json={"note": "resend agreed"}, headers=cs)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["done_by"], done.json()["note"]) == ("done", "cathy", "resend agreed")
    again = client.post(f"/api/v1/followups/{tasks[0]['id']}/done", json={}, headers=cs)
    assert again.status_code == 409
    assert client.get("/api/v1/followups", params={"status": "open"}, headers=cs).json() == []
    assert count(app, FollowupTask) == 1
    use_app(monkeypatch, app)
    listed = CliRunner().invoke(main.app, ["followups", "list", "--status", "done"], env={"COLUMNS": "200"})
    assert number in listed.output and "refusal_contact" in listed.output


# --- interception ----------------------------------------------------------------------------------------


def intercept(client, shipment: str, reason: str = "customer asked to stop it", **kwargs: Any) -> Any:
    return client.post(f"/api/v1/shipments/{shipment}/intercept", json={"reason": reason}, **kwargs)


def intercept_events(app: Ordo) -> list[tuple[str, str | None, dict]]:
    with app.reading() as uow:
        return [(e.to_state, e.reason, e.data) for e in uow.session.scalars(
            select(Event).where(Event.name == "shipment.intercept").order_by(Event.id))]


def test_a_confirmed_interception_stops_the_parcel_and_the_split_order_rolls_up_without_it(client, app, fake):
    number = handed_over(client, ("TEA-001", 1), ("FRIDGE-009", 1))  # -1 yto (the fake), -2 deppon (manual)
    assert track(client, f"{number}-1", "in_transit", T0 + timedelta(hours=1)).status_code == 200
    assert status_of(client, number) == ("in_fulfillment", "partially_shipped", ["in_transit", "handed_over"])
    logistics = {"Authorization": f"Bearer {user_token(app, 'lena', ['logistics'])}"}
    warehouse = {"Authorization": f"Bearer {user_token(app, 'wang', ['warehouse'])}"}
    assert intercept(client, f"{number}-1", headers=warehouse).status_code == 403

    stopped = intercept(client, f"{number}-1", "address is a parcel locker the carrier refuses", headers=logistics)

    assert stopped.status_code == 200, stopped.text
    assert stopped.json() == {
        "shipment": f"{number}-1", "order": number, "status": "intercepted", "carrier": "yto",
        "tracking_number": "FAKE000001", "carrier_confirmed": True, "order_status": "in_fulfillment",
        "shipping_progress": "not_shipped",
    }
    assert fake.cancelled == ["FAKE000001"]
    assert intercept_events(app) == [("intercepted", "address is a parcel locker the carrier refuses", {
        "shipment": f"{number}-1", "carrier": "yto", "tracking_number": "FAKE000001", "carrier_confirmed": True})]
    # The order follows the shipment still on its way.
    assert track(client, f"{number}-2", "in_transit", T0 + timedelta(hours=2)).status_code == 200
    assert status_of(client, number) == ("shipped", "shipped", ["intercepted", "in_transit"])
    assert track(client, f"{number}-2", "delivered", T0 + timedelta(hours=30)).status_code == 200
    assert status_of(client, number) == ("delivered", "delivered", ["intercepted", "delivered"])
    # Intercepted is the end of that parcel: no second interception, no more carrier movement.
    again = intercept(client, f"{number}-1", headers=logistics)
    assert again.status_code == 409
    assert again.json()["detail"] == (f"Shipment {number}-1 is intercepted; only a shipment with the carrier and not "
                                      "yet delivered can be intercepted.")
    assert track(client, f"{number}-1", "in_transit", T0 + timedelta(hours=3)).status_code == 409
    assert fake.cancelled == ["FAKE000001"]


def test_a_manual_carrier_cannot_confirm_so_the_cli_says_call_the_carrier(client, app, monkeypatch):
    number = handed_over(client, ("PHONE-006", 1))  # sf: a manual carrier
    use_app(monkeypatch, app)
    result = CliRunner().invoke(main.app, ["tracking", "intercept", f"{number}-1", "--reason", "customer cancelled"],
                                env={"ORDO_LOCALE": "en"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f'{{"shipment": "{number}-1", "status": "intercepted", "carrier": "sf", "carrier_confirmed": false}}')
    assert intercept_events(app) == [("intercepted", "customer cancelled", {
        "shipment": f"{number}-1", "carrier": "sf", "tracking_number": f"SF{number}1", "carrier_confirmed": False})]
    assert status_of(client, number) == ("in_fulfillment", "not_shipped", ["intercepted"])


def test_a_parcel_intercepted_before_shipping_leaves_no_reservation_open(client, app, monkeypatch):
    """Intercepted at hand-over (no tracking upload yet), the goods are with the carrier: the
    reservation is consumed like at shipping — off the shelf, nothing left reserved for ever."""
    number = handed_over(client, ("PHONE-006", 1))  # sf: a manual carrier, WH-SH holds 100

    def stock() -> tuple[int, int, list[tuple[str, int, int]], list[str]]:
        with app.reading() as uow:
            s = uow.session
            sku = s.scalar(select(Sku.id).where(Sku.code == "PHONE-006"))
            wh = s.scalar(select(Warehouse.id).where(Warehouse.code == "WH-SH"))
            row = s.execute(select(Stock.on_hand, Stock.reserved).where(Stock.sku_id == sku,
                                                                        Stock.warehouse_id == wh)).one()
            moves = s.execute(select(StockMovement.kind, StockMovement.delta_on_hand, StockMovement.delta_reserved)
                              .where(StockMovement.sku_id == sku, StockMovement.kind != "receipt")
                              .order_by(StockMovement.id)).all()
            statuses = s.scalars(select(Reservation.status).where(Reservation.sku_id == sku)).all()
            assert verify(s) == []
        return row.on_hand, row.reserved, [tuple(m) for m in moves], list(statuses)

    assert stock() == (100, 1, [("reservation", 0, 1)], ["open"])
    assert intercept(client, f"{number}-1", "customer cancelled").status_code == 200
    assert stock() == (99, 0, [("reservation", 0, 1), ("shipment", -1, -1)], ["consumed"])


def test_an_interception_the_carrier_refuses_or_the_state_does_not_allow_changes_nothing(client, app, fake,
                                                                                        monkeypatch):
    number = handed_over(client, ("TEA-001", 1))
    packed = checked(client, ("TEA-001", 1))
    pack(client, f"{packed}-1")
    events_before = count(app, Event)
    fake.fail_with = "YTO API timed out"

    refused = intercept(client, f"{number}-1")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Carrier yto could not intercept shipment {number}-1: YTO API timed out. Nothing was changed.")
    use_app(monkeypatch, app)
    cli = CliRunner().invoke(main.app, ["tracking", "intercept", f"{number}-1", "--reason", "x"],
                             env={"ORDO_LOCALE": "en"})
    assert cli.exit_code == 1
    assert "Carrier yto could not intercept" in cli.output
    fake.fail_with = None
    not_yet = intercept(client, f"{packed}-1")  # still in the warehouse: cancel the order instead
    assert not_yet.status_code == 409
    assert not_yet.json()["detail"] == (f"Shipment {packed}-1 is packed; only a shipment with the carrier and not yet "
                                        "delivered can be intercepted.")
    blank = intercept(client, f"{number}-1", "")
    assert blank.status_code == 422
    assert [e["field"] for e in blank.json()["errors"]] == ["reason"]
    assert intercept(client, "NOPE-1").status_code == 404

    assert fake.cancelled == []
    assert count(app, Event) == events_before
    assert status_of(client, number)[2] == ["handed_over"]
    assert status_of(client, packed)[2] == ["packed"]


# --- tracking pulled from the carriers' adapters -------------------------------------------------------------


def test_pulled_carrier_events_move_the_shipment_once_each_via_the_cli_and_the_worker(client, app, fake,
                                                                                      monkeypatch):
    number = handed_over(client, ("TEA-001", 1))
    manual = handed_over(client, ("PHONE-006", 1))  # sf has no integration: nothing to pull
    first = CarrierEvent("FAKE000001", "in_transit", T0 + timedelta(hours=1), location="上海")
    fake.events["FAKE000001"] = [first]
    use_app(monkeypatch, app)

    pulled = CliRunner().invoke(main.app, ["tracking", "pull"], env={"ORDO_LOCALE": "en"})

    assert pulled.exit_code == 0, pulled.output
    assert pulled.output.strip() == '{"stored": 1, "duplicates": 0, "failed": [], "busy": []}'
    assert status_of(client, number) == ("shipped", "shipped", ["in_transit"])
    fake.events["FAKE000001"] = [
        CarrierEvent("FAKE000001", "delivered", T0 + timedelta(hours=22), note="front desk"),  # out of order
        first,
        CarrierEvent("FAKE000001", "out_for_delivery", T0 + timedelta(hours=20)),
    ]
    assert run_round(app, {}).pulled == 2
    assert status_of(client, number) == ("delivered", "delivered", ["delivered"])
    assert status_of(client, manual)[2] == ["handed_over"]
    read = client.get(f"/api/v1/shipments/{number}-1/shipping").json()
    assert [(e["kind"], e["location"], e["note"], e["source"]) for e in read["events"]] == [
        ("in_transit", "上海", None, "carrier"), ("out_for_delivery", None, None, "carrier"),
        ("delivered", None, "front desk", "carrier")]
    assert CliRunner().invoke(main.app, ["tracking", "pull"]).output.strip() == (
        '{"stored": 0, "duplicates": 0, "failed": [], "busy": []}')  # delivered: the carrier is no longer asked
    assert count(app, TrackingEvent) == 3


def test_a_pulled_step_staff_recorded_already_is_kept_as_history_not_refused_every_round(client, app, fake):
    """Staff recorded "out for delivery" with the order action; the carrier then reported it too.
    The pull refused that event (the state does not allow the step again) and listed the shipment
    as failed on every round; the event is now kept in the parcel's history, with no second step."""
    number = handed_over(client, ("TEA-001", 1))
    for action in ("ship", "out-for-delivery"):
        assert client.post(f"/api/v1/orders/{number}/{action}", json={}).status_code == 200
    fake.events["FAKE000001"] = [CarrierEvent("FAKE000001", "in_transit", T0 + timedelta(hours=1)),
                                 CarrierEvent("FAKE000001", "out_for_delivery", T0 + timedelta(hours=2))]
    steps_before = count(app, Event)

    def pull() -> handlers.PullOutcome:
        with app.transaction() as uow:
            return handlers.pull_tracking(uow)

    assert pull() == handlers.PullOutcome(stored=2, duplicates=0)
    assert pull() == handlers.PullOutcome(stored=0, duplicates=2)
    assert status_of(client, number) == ("shipped", "shipped", ["out_for_delivery"])
    with app.reading() as uow:
        names = list(uow.session.scalars(select(Event.name).order_by(Event.id).offset(steps_before)))
    assert names == []  # no second step (nor a movement: the clock stands at T0, the scans are cut back to it)
    fake.events["FAKE000001"].append(CarrierEvent("FAKE000001", "delivered", T0 + timedelta(hours=3)))
    assert pull() == handlers.PullOutcome(stored=1, duplicates=2)
    assert status_of(client, number) == ("delivered", "delivered", ["delivered"])
    assert count(app, TrackingEvent) == 3


def test_successive_pulls_go_round_every_moving_shipment_however_many_there_are(client, app, fake, monkeypatch):
    """A pull reads at most ``batch`` shipments. It read the lowest ids every time, so with more
    parcels moving than that, the later ones were never asked about again while the first stayed
    on the road; a pull now goes on after the last one the previous pull read."""
    numbers = [handed_over(client, ("TEA-001", 1)) for _ in range(3)]
    for i in (1, 2, 3):
        fake.events[f"FAKE00000{i}"] = [CarrierEvent(f"FAKE00000{i}", "in_transit", T0 + timedelta(hours=i))]
    with app.reading() as uow:
        second = uow.session.scalar(select(Shipment.id).where(Shipment.number == f"{numbers[1]}-1"))

    def pull(after: int) -> handlers.PullOutcome:
        with app.transaction() as uow:
            return handlers.pull_tracking(uow, batch=2, after=after)

    first = pull(0)
    assert first == handlers.PullOutcome(stored=2, duplicates=0, resume_after=second)
    assert [status_of(client, n)[2] for n in numbers] == [["in_transit"], ["in_transit"], ["handed_over"]]
    assert pull(first.resume_after) == handlers.PullOutcome(stored=1, duplicates=0, resume_after=0)
    assert [status_of(client, n)[2] for n in numbers] == [["in_transit"]] * 3
    assert pull(0) == handlers.PullOutcome(stored=0, duplicates=2, resume_after=second)  # round again

    # The worker carries the place from round to round; the CLI goes round them all, a batch per transaction.
    for i in (1, 2, 3):
        fake.events[f"FAKE00000{i}"].append(CarrierEvent(f"FAKE00000{i}", "out_for_delivery", T0 + timedelta(hours=9)))
    assert run_round(app, {}, pull_after=second).pulled == 1
    assert [status_of(client, n)[2] for n in numbers] == [["in_transit"], ["in_transit"], ["out_for_delivery"]]
    use_app(monkeypatch, app)
    pulled = CliRunner().invoke(main.app, ["tracking", "pull", "--batch", "1"])
    assert pulled.exit_code == 0, pulled.output
    assert pulled.output.strip() == '{"stored": 2, "duplicates": 4, "failed": [], "busy": []}'
    assert [status_of(client, n)[2] for n in numbers] == [["out_for_delivery"]] * 3


def test_a_pulled_event_the_state_refuses_leaves_that_shipment_as_it_was_and_the_others_go_on(client, app, fake):
    bad = handed_over(client, ("TEA-001", 1))
    good = handed_over(client, ("TEA-001", 1))
    fake.events["FAKE000001"] = [CarrierEvent("FAKE000001", "in_transit", T0 + timedelta(hours=1)),
                                 CarrierEvent("FAKE000001", "refused", T0 + timedelta(hours=2))]  # before delivery
    fake.events["FAKE000002"] = [CarrierEvent("FAKE000002", "in_transit", T0 + timedelta(hours=1))]

    def pull() -> handlers.PullOutcome:
        with app.transaction() as uow:
            return handlers.pull_tracking(uow)

    assert pull() == handlers.PullOutcome(stored=1, duplicates=0, failed=[f"{bad}-1"])
    assert status_of(client, bad)[2] == ["handed_over"]
    assert status_of(client, good)[2] == ["in_transit"]
    assert count(app, TrackingEvent) == 1
    assert count(app, FollowupTask) == 0
    fake.fail_with = "YTO API down"
    assert pull() == handlers.PullOutcome(stored=0, duplicates=0, failed=[f"{bad}-1", f"{good}-1"])
    assert count(app, TrackingEvent) == 1


# --- ship keeps the booking made at hand-over ------------------------------------------------------------


def booking_refused(number: str, fields: str, *, carrier: str = "yto", tracking: str = "FAKE000001") -> str:
    return (f"Shipment {number}-1 was booked at hand-over with carrier {carrier}, service domestic_express, tracking "
            f"number {tracking}; the request names another {fields}. Ship with the booking, or set override_booking "
            "with a reason.")


def events_named(app: Ordo, name: str) -> list[tuple[str, str | None, dict]]:
    with app.reading() as uow:
        return [(e.actor, e.reason, e.data) for e in uow.session.scalars(
            select(Event).where(Event.name == name).order_by(Event.id))]


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"carrier": "zto"}, "carrier"), ({"carrier": "ZTO Express", "tracking_number": "75000111"},
                                       "carrier, tracking_number"),
     ({"service": "domestic_freight"}, "service"), ({"tracking_number": "YT999"}, "tracking_number")],
    ids=["carrier", "carrier-and-number", "service", "number"],
)
def test_ship_naming_other_carrier_values_than_the_booking_is_refused_and_changes_nothing(client, app, database,
                                                                                         body, fields):
    # Given a parcel booked with YTO (the integrated fake) at hand-over.
    number = handed_over(client, ("TEA-001", 1))
    assert events_named(app, "shipment.booked") == [("root", None, {
        "shipment": f"{number}-1", "carrier": "yto", "service": "domestic_express", "tracking_number": "FAKE000001"})]
    before = database.row_counts()

    # When the ship request names another carrier, service or number.
    refused = client.post(f"/api/v1/orders/{number}/ship", json=body)

    # Then it is refused naming the booking, and nothing is written.
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["detail"]) == ("conflict", booking_refused(number, fields))
    assert database.row_counts() == before
    assert status_of(client, number) == ("in_fulfillment", "not_shipped", ["handed_over"])


def test_ship_naming_the_booked_carrier_by_another_spelling_keeps_the_booking(client, app):
    number = handed_over(client, ("TEA-001", 1))

    same = {"carrier": "YTO Express", "service": "domestic_express", "tracking_number": "FAKE000001"}
    shipped = client.post(f"/api/v1/orders/{number}/ship", json=same)

    assert shipped.status_code == 200, shipped.text
    s = shipped.json()["shipments"][0]
    assert (s["status"], s["carrier"], s["tracking_number"]) == ("in_transit", "yto", "FAKE000001")
    assert events_named(app, "shipment.booking_overridden") == []


def test_an_override_with_a_reason_replaces_the_booking_and_records_old_new_and_why(client, app, database):
    number = handed_over(client, ("TEA-001", 1))
    other = {"carrier": "顺丰", "tracking_number": "SF5566778899", "override_booking": True}
    before = database.row_counts()

    no_reason = client.post(f"/api/v1/orders/{number}/ship", json=other)
    blank = client.post(f"/api/v1/orders/{number}/ship", json={**other, "reason": "  "})

    for refused in (no_reason, blank):
        assert refused.status_code == 422
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("reason", "required")]
    assert database.row_counts() == before

    overridden = client.post(f"/api/v1/orders/{number}/ship",
                             json={**other, "reason": "YTO cannot reach the address; SF collected it"})

    assert overridden.status_code == 200, overridden.text
    s = overridden.json()["shipments"][0]
    assert (s["status"], s["carrier"], s["tracking_number"]) == ("in_transit", "sf", "SF5566778899")
    assert events_named(app, "shipment.booking_overridden") == [(
        "root", "YTO cannot reach the address; SF collected it", {
            "shipment": f"{number}-1", "fields": ["carrier", "tracking_number"],
            "from": {"carrier": "yto", "service": "domestic_express", "tracking_number": "FAKE000001"},
            "to": {"carrier": "sf", "service": "domestic_express", "tracking_number": "SF5566778899"}})]
    assert [data for _, _, data in events_named(app, "shipment.ship")] == [
        {"shipment": f"{number}-1", "carrier": "sf", "tracking_number": "SF5566778899"}]
    assert client.get(f"/api/v1/shipments/{number}-1/shipping").json()["carrier"] == "sf"


def test_a_number_a_manual_carrier_made_up_is_replaced_without_an_override_but_not_its_carrier(client, app):
    # Given a phone booked with SF, a carrier without an integration: the number was made up.
    number = handed_over(client, ("PHONE-006", 1))
    assert status_of(client, number)[2] == ["handed_over"]
    made_up = f"SF{number}1"

    other_carrier = client.post(f"/api/v1/orders/{number}/ship", json={"carrier": "zto", "tracking_number": "75123"})
    real_number = client.post(f"/api/v1/orders/{number}/ship", json={"tracking_number": "SF1122334455"})

    assert other_carrier.status_code == 409
    assert other_carrier.json()["detail"] == booking_refused(number, "carrier", carrier="sf", tracking=made_up)
    assert real_number.status_code == 200, real_number.text
    s = real_number.json()["shipments"][0]
    assert (s["status"], s["carrier"], s["tracking_number"]) == ("in_transit", "sf", "SF1122334455")
    assert events_named(app, "shipment.booking_overridden") == []


def test_a_tracking_number_identifies_one_parcel(client, app, database):
    # Given an order split over two warehouses (-1 YTO, the fake; -2 Deppon, manual), both handed over.
    number = handed_over(client, ("TEA-001", 1), ("FRIDGE-009", 1))
    before = database.row_counts()

    both = client.post(f"/api/v1/orders/{number}/ship", json={"tracking_number": "DPK000111"})
    taken = client.post(f"/api/v1/orders/{number}/ship", json={"shipment": f"{number}-2",
                                                                "tracking_number": "FAKE000001"})

    assert both.status_code == 422
    assert both.json()["errors"] == [{"field": "shipment", "code": "tracking_number_shipments", "message": (
        "shipment: the order has 2 shipments to ship; a tracking number identifies one parcel, so name the shipment "
        "it belongs to.")}]
    assert taken.status_code == 422
    assert taken.json()["errors"] == [{"field": "shipment", "code": "tracking_number_taken", "message": (
        f'shipment: tracking number "FAKE000001" already belongs to shipment {number}-1; a tracking number '
        "identifies one parcel.")}]
    assert database.row_counts() == before
    one = client.post(f"/api/v1/orders/{number}/ship", json={"shipment": f"{number}-2", "tracking_number": "DPK000111"})
    assert one.status_code == 200, one.text
    assert status_of(client, number) == ("in_fulfillment", "partially_shipped", ["handed_over", "in_transit"])


def test_a_typed_number_another_parcel_has_is_refused_at_hand_over(client, app):
    first = checked(client, ("PHONE-006", 1))  # sf: manual, the number typed at hand-over
    second = checked(client, ("PHONE-006", 1))
    for number in (first, second):
        pack(client, f"{number}-1")
    assert client.post(f"/api/v1/orders/{first}/hand-over", json={"tracking_number": "SF777"}).status_code == 200

    again = client.post(f"/api/v1/orders/{second}/hand-over", json={"tracking_number": "SF777"})

    assert again.status_code == 422
    assert [(e["field"], e["code"]) for e in again.json()["errors"]] == [("shipment", "tracking_number_taken")]
    assert status_of(client, second)[2] == ["packed"]


def test_two_hand_overs_typing_the_same_number_at_once_keep_it_on_one_shipment(client, app, database, monkeypatch):
    """Both commands find the number free before either has committed: the unique index on
    ``shipments.tracking_number`` refuses the second writer, answered like a number taken before."""
    if database.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two hand-overs cannot interleave")
    first, second = checked(client, ("PHONE-006", 1)), checked(client, ("PHONE-006", 1))  # sf: manual
    for number in (first, second):
        pack(client, f"{number}-1")
    real, checked_free, second_done = steps.refuse_taken_number, threading.Event(), threading.Event()

    def check_then_wait(session, shipment, tracking_number):
        real(session, shipment, tracking_number)
        if not checked_free.is_set():  # the first hand-over, the number free: wait for the second
            checked_free.set()
            second_done.wait(10)

    monkeypatch.setattr(steps, "refuse_taken_number", check_then_wait)

    refused: list[ValidationFailed] = []

    def hand_over(number: str) -> None:
        try:
            app.run(perform, number=number, action=OrderAction.HAND_OVER, body=ActionIn(tracking_number="SF888"),
                    actor=Actor.system())
        except ValidationFailed as error:
            refused.append(error)

    def later() -> None:
        checked_free.wait(10)
        try:
            hand_over(second)
        finally:
            second_done.set()

    failures = side_by_side({"first": lambda: hand_over(first), "second": later})

    assert failures == []
    assert [p for error in refused for p in error.problems] == [Problem(
        "shipment", "tracking_number_taken", {"path": "shipment", "value": "SF888", "other": f"{second}-1"})]
    with app.reading() as uow:
        assert list(uow.session.execute(select(Shipment.number, Shipment.status, Shipment.tracking_number)
                                        .order_by(Shipment.id))) == [
            (f"{first}-1", "packed", None), (f"{second}-1", "handed_over", "SF888")]


def test_cli_ship_refuses_a_booking_conflict_with_1_and_a_missing_reason_with_2(client, app, monkeypatch):
    number = handed_over(client, ("TEA-001", 1))
    use_app(monkeypatch, app)

    def ship(*args: str) -> Any:
        return CliRunner().invoke(main.app, ["orders", "act", number, "ship", *args], env={"ORDO_LOCALE": "en"})

    conflict = ship("--carrier", "zto")
    no_reason = ship("--carrier", "zto", "--override-booking")
    assert (conflict.exit_code, no_reason.exit_code) == (1, 2)
    assert " ".join(conflict.output.split()) == f"error: {booking_refused(number, 'carrier')}"
    assert " ".join(no_reason.output.split()) == "error: The request has invalid fields. reason is required."
    assert status_of(client, number)[2] == ["handed_over"]

    done = ship("--carrier", "zto", "--tracking-number", "75000111", "--override-booking", "--reason", "YTO is late")

    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"{number}: ship → shipped"
    assert [(reason, data["to"]) for _, reason, data in events_named(app, "shipment.booking_overridden")] == [
        ("YTO is late", {"carrier": "zto", "service": "domestic_express", "tracking_number": "75000111"})]


def test_the_upgrade_records_the_service_and_the_made_up_numbers_of_earlier_bookings(client, app, database):
    """What migration 0018 fills in for bookings made before it: the order's service type, and which
    numbers a manual carrier made up (its prefix and the shipment number) rather than had typed."""
    integrated = handed_over(client, ("TEA-001", 1))  # yto, the fake: FAKE000001
    made_up = handed_over(client, ("PHONE-006", 1))  # sf, manual: SF<number>1
    typed = checked(client, ("PHONE-006", 1))
    pack(client, f"{typed}-1")
    assert client.post(f"/api/v1/orders/{typed}/hand-over", json={"tracking_number": "SF777"}).status_code == 200
    with app.transaction() as uow:  # as they were before the revision
        for rec in uow.session.scalars(select(ShippingRecord)):
            rec.booked_service, rec.booked_placeholder = None, False
    migration = load_file(Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0018_booking_kept.py",
                          "migration_0018")

    with database.engine.begin() as conn:
        migration.backfill(conn)

    with app.reading() as uow:
        rows = uow.session.execute(
            select(Shipment.number, ShippingRecord.booked_service, ShippingRecord.booked_placeholder)
            .join(ShippingRecord, ShippingRecord.shipment_id == Shipment.id).order_by(Shipment.id)).all()
    assert [tuple(r) for r in rows] == [(f"{integrated}-1", "domestic_express", False),
                                        (f"{made_up}-1", "domestic_express", True),
                                        (f"{typed}-1", "domestic_express", False)]
