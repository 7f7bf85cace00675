"""Printed documents over HTTP and the CLI: the confirmation, packing slip, label and pick list as
PDF, with permissions and scopes like every other route; read back as images and text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from reportlab.lib.units import mm
from typer.testing import CliRunner

from ordo.adapters.carriers.base import FakeCarrier
from ordo.bootstrap import Carriers
from ordo.documents import queries
from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common, main
from ordo.fulfillment.layout import FloorLayout, bin_point_of
from ordo.fulfillment.queries import PickListView, PickStopView
from ordo.fulfillment.routing import Layout, shortest_route
from ordo.settings import Settings
from tests import pdfcheck
from tests.factories import order_payload, prepare_step, seed, user_token

NUMBER = "20260315001"


@pytest.fixture
def app(ordo):
    seed(ordo)
    return create_app(ordo)


@pytest.fixture
def client(app, ordo):
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


def as_user(ordo, name: str, roles: list[str], **scope) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token(ordo, name, roles, **scope)}"}


def allocated(client: TestClient) -> str:
    r = client.post("/api/v1/orders", json=order_payload())
    assert (r.status_code, r.json()["status"]) == (201, "allocated"), r.text
    return r.json()["shipments"][0]["number"]


def advance(client: TestClient, ordo, actions: list[tuple[str, dict]]) -> None:
    """The order actions in turn, each after the scans or packing record its guards want."""
    for action, body in actions:
        prepare_step(ordo, NUMBER, action)
        r = client.post(f"/api/v1/orders/{NUMBER}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)


def shipped(client: TestClient, ordo) -> str:
    """Shipped with a carrier and tracking number typed at the ship step, which override the booking."""
    shipment = allocated(client)
    advance(client, ordo, [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {}),
                           ("ship", {"carrier": "sf", "tracking_number": "SF1234567890", "override_booking": True,
                                     "reason": "the customer pays for SF"})])
    return shipment


def is_pdf(r) -> bytes:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    return r.content


def test_order_confirmation_pdf_shows_the_order_and_its_expected_times(client):
    allocated(client)
    r = client.get(f"/api/v1/orders/{NUMBER}/confirmation.pdf")
    pdf = is_pdf(r)
    assert r.headers["content-disposition"] == f'inline; filename="confirmation-{NUMBER}.pdf"'
    text = pdfcheck.text(pdf)
    for expected in (
        f"订单号 Order number {NUMBER}", "张伟", "+8613812345678", "zhang.wei@example.cn",
        "上海市 上海市 浦东新区 世纪大道100号 200120 CN", "官网商城", "TEA-001", "CNY 25.00", "CNY 50.00",
        "国内快递 Domestic express", "alipay (paid)", "CNY 10.00", "-CNY 5.00", "CNY 55.00",
        # The order was created at 10:00 Shanghai time; a normal order ships within 24 hours.
        "预计发货 Ships by", "2026-03-16 10:00", "下单 Placed", "2026-03-15 10:00",
        f"GET /api/v1/track/{NUMBER}",
    ):
        assert expected in text, expected
    drawn = pdfcheck.image(pdf).crop(pdfcheck.box_of(pdf, "张伟"))
    assert pdfcheck.ink_ratio(drawn) > 0.1


def test_packing_slip_pdf_lists_the_shipments_lines(client):
    shipment = allocated(client)
    pdf = is_pdf(client.get(f"/api/v1/shipments/{shipment}/packing-slip.pdf"))
    text = pdfcheck.text(pdf)
    for expected in ("装箱单 Packing slip", shipment, NUMBER, "上海仓 WH-SH", "张伟 +8613812345678", "TEA-001",
                     "Tea-001"):
        assert expected in text, expected
    assert {r.text for r in zxingcpp.read_barcodes(pdfcheck.image(pdf))} == {shipment}


def test_label_is_refused_until_the_shipment_has_a_tracking_number(client, database):
    shipment = allocated(client)
    before = database.row_counts()
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert r.status_code == 409
    assert r.json()["detail"] == (f"Shipment {shipment} has no tracking number yet; its label is printed once the "
                                  "carrier has given one.")
    zh = client.get(f"/api/v1/shipments/{shipment}/label.pdf", headers={"Accept-Language": "zh-CN"})
    assert zh.json()["detail"] == f"包裹 {shipment} 尚无运单号；承运商分配运单号后才能打印面单。"
    assert database.row_counts() == before


def test_label_pdf_of_a_shipped_parcel_reads_back(client, ordo):
    shipment = shipped(client, ordo)
    pdf = is_pdf(client.get(f"/api/v1/shipments/{shipment}/label.pdf"))
    width, height = pdfcheck.page_size_pt(pdf)
    assert (width, height) == (pytest.approx(100 * mm, abs=0.01), pytest.approx(150 * mm, abs=0.01))
    found = {(b.format.name, b.text) for b in zxingcpp.read_barcodes(pdfcheck.image(pdf))}
    assert found == {("Code128", "SF1234567890"), ("QRCode", f"SF1234567890;{shipment}")}
    text = pdfcheck.text(pdf)
    # One parcel of 800 g, 20 × 15 × 10 cm was recorded at packing (prepare_packing): its volumetric
    # weight (3000 cm³ / 6000 = 500 g by SF's divisor) is below the actual one.
    for expected in ("SF Express", "张伟", f"订单 Order {NUMBER}", "件数 Parcels 1", "计费重 Weight 0.800 kg",
                     "上海仓 WH-SH"):
        assert expected in text, expected


def test_unknown_documents_are_not_found(client):
    assert client.get("/api/v1/orders/20990101001/confirmation.pdf").status_code == 404
    assert client.get("/api/v1/shipments/NOPE/packing-slip.pdf").status_code == 404
    assert client.get("/api/v1/shipments/NOPE/label.pdf").status_code == 404
    r = client.get("/api/v1/pick-lists/PL-1.pdf")
    assert (r.status_code, r.json()["detail"]) == (404, "pick list PL-1 not found.")


def test_documents_follow_roles_and_scopes(client, ordo):
    shipment = shipped(client, ordo)
    finance = as_user(ordo, "fay", ["finance"])
    logistics = as_user(ordo, "leo", ["logistics"])
    other_shop = as_user(ordo, "tina", ["customer_service"], shops=["tmall"])
    other_warehouse = as_user(ordo, "wang", ["warehouse"], warehouses=["WH-BJ"])
    own_warehouse = as_user(ordo, "wu", ["warehouse"], warehouses=["WH-SH"])
    slip, label = f"/api/v1/shipments/{shipment}/packing-slip.pdf", f"/api/v1/shipments/{shipment}/label.pdf"
    confirmation = f"/api/v1/orders/{NUMBER}/confirmation.pdf"
    assert client.get(confirmation, headers=finance).status_code == 200
    assert client.get(slip, headers=finance).status_code == 403
    assert client.get(label, headers=finance).status_code == 403
    assert client.get(label, headers=logistics).status_code == 200
    assert client.get(slip, headers=logistics).status_code == 403
    assert client.get(confirmation, headers=other_shop).status_code == 404
    assert client.get(slip, headers=other_warehouse).status_code == 404
    assert client.get(label, headers=own_warehouse).status_code == 200
    assert client.get(confirmation, headers={"Authorization": ""}).status_code == 401


def test_pick_list_pdf_through_the_adapter(client, ordo, monkeypatch):
    # Given the warehouse's pick list view (the real view type, filled by hand)
    view = PickListView(
        number="PL-7", warehouse="WH-SH", picker="李娜", route_length_m=42.0,
        created_at=datetime(2026, 3, 15, 2, 30, tzinfo=UTC),
        stops=[PickStopView(1, "B-02-L", "MUG-002", "马克杯", 1, "S-1"),
               PickStopView(2, "A-01-R", "TEA-001", "西湖龙井", 2, "S-2")],
    )
    asked: list[str] = []

    def source(session, number):
        asked.append(number)
        return view

    monkeypatch.setattr(queries, "pick_list_view", source)
    # When a picker prints it
    picker = as_user(ordo, "pete", ["warehouse"])
    pdf = is_pdf(client.get("/api/v1/pick-lists/PL-7.pdf", headers=picker))
    # Then it shows the stops in route order, times in Shanghai time
    text = pdfcheck.text(pdf)
    assert asked == ["PL-7"]
    assert text.index("B-02-L") < text.index("A-01-R")
    for expected in ("拣货单 Pick list PL-7", "李娜", "42.0 m", "2026-03-15 10:30", "马克杯", "西湖龙井", "2 / 3"):
        assert expected in text, expected
    # and only to those who pick, in that warehouse
    assert client.get("/api/v1/pick-lists/PL-7.pdf", headers=as_user(ordo, "leo", ["logistics"])).status_code == 403
    elsewhere = as_user(ordo, "wang", ["warehouse"], warehouses=["WH-BJ"])
    assert client.get("/api/v1/pick-lists/PL-7.pdf", headers=elsewhere).status_code == 404


LAYOUT = {"aisles": 4, "aisle_length_m": 20, "aisle_spacing_m": 3, "slot_length_m": 1}
BINS = {"TEA-001": "A01-005-L", "MUG-002": "A04-018-R", "OIL-004": "A02-020-L"}


def test_a_released_pick_list_prints_its_stops_in_route_order(client, ordo):
    # Given WH-SH laid out with a bin per SKU, and an order of three SKUs there
    assert client.put("/api/v1/warehouses/WH-SH/layout", json=LAYOUT).status_code == 200
    for sku, place in BINS.items():
        r = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": sku, "bin": place})
        assert r.status_code == 200, r.text
    r = client.post("/api/v1/orders", json=order_payload(
        lines=[{"sku": "TEA-001", "quantity": 2, "unit_price": "25.00"},
               {"sku": "MUG-002", "quantity": 1, "unit_price": "39.90"},
               {"sku": "OIL-004", "quantity": 1, "unit_price": "59.00"}],
        total="153.90", payment={"method": "alipay", "status": "paid", "amount_paid": "153.90"},
    ))
    assert (r.status_code, r.json()["status"]) == (201, "allocated"), r.text
    shipment = r.json()["shipments"][0]["number"]
    # When a wave is released, a picker takes the list and prints it
    [released] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}).json()
    li = as_user(ordo, "li", ["warehouse"], warehouses=["WH-SH"])
    assert client.post(f"/api/v1/pick-lists/{released['number']}/claim", headers=li).status_code == 200
    r = client.get(f"/api/v1/pick-lists/{released['number']}.pdf", headers=li)
    pdf = is_pdf(r)
    assert r.headers["content-disposition"] == f'inline; filename="pick-list-{released["number"]}.pdf"'
    # Then its stops are printed in the order of the shortest route through the bins
    floor = FloorLayout(4, 20.0, 3.0, 1.0)
    optimum = shortest_route(Layout(4, 20.0, 3.0, 0), [bin_point_of(floor, b) for b in BINS.values()])
    by_point = {bin_point_of(floor, b): b for b in BINS.values()}
    route = [by_point[p] for p in optimum.stops]
    assert [s["bin"] for s in released["stops"]] == route
    text = pdfcheck.text(pdf)
    quantity = {"TEA-001": 2, "MUG-002": 1, "OIL-004": 1}
    sku_of = {b: s for s, b in BINS.items()}
    rows = [f"{seq} {b} {sku_of[b]} {sku_of[b].title()} {quantity[sku_of[b]]} {shipment}"
            for seq, b in enumerate(route, start=1)]
    positions = [text.index(row) for row in rows]
    assert positions == sorted(positions)
    for expected in (f"拣货单 Pick list {released['number']}", "仓库 Warehouse WH-SH", "拣货员 Picker li",
                     f"路线长度 Route length {optimum.length:.1f} m", "创建 Created 2026-03-15 10:00",
                     "货位 Stops / 件数 Items 3 / 4"):
        assert expected in text, expected
    assert {r.text for r in zxingcpp.read_barcodes(pdfcheck.image(pdf))} == {released["number"]}


def test_the_label_prints_the_booking_and_the_parcels_weighed_at_packing(client, ordo):
    # Given a checked shipment of tea and a (fragile) mug
    r = client.post("/api/v1/orders", json=order_payload(
        lines=[{"sku": "TEA-001", "quantity": 1, "unit_price": "25.00"},
               {"sku": "MUG-002", "quantity": 1, "unit_price": "39.90"}],
        total="69.90", payment={"method": "alipay", "status": "paid", "amount_paid": "69.90"},
    ))
    assert r.status_code == 201, r.text
    shipment = r.json()["shipments"][0]["number"]
    advance(client, ordo, [("pick", {}), ("finish-pick", {}), ("check", {})])
    # whose packing slip asks for the fragile goods' packing
    slip = pdfcheck.text(is_pdf(client.get(f"/api/v1/shipments/{shipment}/packing-slip.pdf")))
    for expected in ("包装要求 Packing instructions", "• cushioning", '• "fragile" label', "MUG-002"):
        assert expected in slip, expected
    # When it is packed in two parcels, handed over (booked with the chosen carrier) and shipped
    packed = client.post(f"/api/v1/shipments/{shipment}/pack", json={
        "confirmed": ["cushioning", '"fragile" label'],
        "parcels": [{"weight_g": 700, "length_mm": 300, "width_mm": 200, "height_mm": 200},
                    {"weight_g": 500, "length_mm": 100, "width_mm": 100, "height_mm": 100}],
    })
    assert packed.status_code == 200, packed.text
    advance(client, ordo, [("hand-over", {}), ("ship", {})])
    # Then the label shows the carrier the rules chose (1.2 kg is over the light-parcel limit: ZTO,
    # divisor 8000), the tracking number of its booking, both parcels and their chargeable weight:
    # 12000 cm³ / 8000 = 1500 g beats 700 g, 500 g beats 125 g volumetric — 2.000 kg, not the
    # 1.200 kg on the scale nor the 1.500 kg of the catalogue.
    assert (packed.json()["carrier"], packed.json()["chargeable_weight_g"]) == ("zto", 2000)
    tracking = f"ZTO{shipment.replace('-', '')}"
    pdf = is_pdf(client.get(f"/api/v1/shipments/{shipment}/label.pdf"))
    found = {(b.format.name, b.text) for b in zxingcpp.read_barcodes(pdfcheck.image(pdf))}
    assert found == {("Code128", tracking), ("QRCode", f"{tracking};{shipment}")}
    text = pdfcheck.text(pdf)
    for expected in ("ZTO Express", tracking, "件数 Parcels 2", "计费重 Weight 2.000 kg", f"包裹 Shipment {shipment}"):
        assert expected in text, expected


def test_a_carrier_that_issues_its_own_labels_is_printed_as_is(client, ordo):
    # Given the economy carrier integrated through an adapter that issues labels
    carrier = FakeCarrier(code="yto")
    ordo.carriers = Carriers({"yto": carrier})
    shipment = allocated(client)
    advance(client, ordo, [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {})])
    booked = client.get(f"/api/v1/shipments/{shipment}/shipping").json()
    assert (booked["carrier"], booked["tracking_number"]) == ("yto", "FAKE000001")
    carrier.labels["FAKE000001"] = b"%PDF-1.4 the carrier's own label"
    # When the label is asked for, then it is the carrier's, byte for byte
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert (r.status_code, r.headers["content-type"], r.content) == (
        200, "application/pdf", b"%PDF-1.4 the carrier's own label")
    # and a carrier that cannot be reached is named, not papered over with another label
    carrier.fail_with = "timeout"
    r = client.get(f"/api/v1/shipments/{shipment}/label.pdf")
    assert (r.status_code, r.json()["code"], r.json()["detail"]) == (
        503, "unavailable", f"Carrier yto could not give the label of shipment {shipment}: timeout")


def test_a_missing_font_answers_503_naming_the_setting(ordo, database, tmp_path):
    seed(ordo)
    ordo.settings = Settings(database_url=database.url, pdf_font=tmp_path / "gone.ttf")
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        r = c.get(f"/api/v1/orders/{NUMBER}/confirmation.pdf")
    assert r.status_code == 503
    assert r.json()["code"] == "unavailable"
    assert "ORDO_PDF_FONT" in r.json()["detail"]
    assert str(tmp_path / "gone.ttf") in r.json()["detail"]


def test_cli_writes_the_documents(client, ordo, monkeypatch, tmp_path):
    shipment = shipped(client, ordo)
    for module in (common, main):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    from ordo.entrypoints.cli import docs

    monkeypatch.setattr(docs, "ordo", lambda: ordo)
    runner = CliRunner()
    for args, needle in [
        (["confirmation", NUMBER], NUMBER),
        (["packing-slip", shipment], shipment),
        (["label", shipment], "SF1234567890"),
    ]:
        target = tmp_path / f"{args[0]}.pdf"
        result = runner.invoke(main.app, ["docs", *args, "-o", str(target)], env={"ORDO_LOCALE": "en"})
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{args[0]} {args[1]}: {target} (")
        assert needle in pdfcheck.text(target.read_bytes())
    missing = runner.invoke(main.app, ["docs", "label", "NOPE", "-o", str(tmp_path / "x.pdf")],
                            env={"ORDO_LOCALE": "en"})
    assert missing.exit_code == 1
    assert "shipment NOPE not found." in missing.output
    assert not (tmp_path / "x.pdf").exists()
