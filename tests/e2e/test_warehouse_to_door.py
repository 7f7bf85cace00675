"""From confirmed to delivered over HTTP on both databases, by the people who do each step: a domestic
order split over two warehouses, each shipment released on a pick list in route order, claimed, scanned,
picked, checked by a second person, packed with parcels, given a carrier with its reason, handed over
(booked, tracking number), then tracked to the door — one by the tracking API, the other by a carrier's
CSV file. The order rolls up on the way, its timeline holds every step, and the documents print."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordo.entrypoints.api.app import create_app
from ordo.fulfillment.layout import FloorLayout, bin_point_of
from ordo.fulfillment.routing import Layout, shortest_route
from tests import pdfcheck
from tests.factories import order_payload, seed, user_token

# Two floors: Shanghai a small single block, Beijing wider with the depot at aisle 3.
FLOORS = {
    "WH-SH": {"aisles": 4, "aisle_length_m": 20, "aisle_spacing_m": 3, "slot_length_m": 1},
    "WH-BJ": {"aisles": 6, "aisle_length_m": 30, "aisle_spacing_m": 2.5, "slot_length_m": 1.5, "depot_aisle": 3},
}
# Shanghai has tea and oil, Beijing tea, mugs and phones: neither holds every line of the order.
STOCK = {"WH-SH": {"TEA-001": 10, "OIL-004": 10}, "WH-BJ": {"TEA-001": 10, "MUG-002": 10, "PHONE-006": 10}}
BINS = {
    "WH-SH": {"TEA-001": "A01-005-L", "OIL-004": "A03-012-R"},
    "WH-BJ": {"TEA-001": "A06-001-L", "MUG-002": "A02-004-L", "PHONE-006": "A05-010-R"},
}
LINES = [("TEA-001", 2, "25.00"), ("OIL-004", 1, "59.00"), ("MUG-002", 1, "39.90"), ("PHONE-006", 1, "3999.00")]
BARCODES = {"TEA-001": "6900000000000", "MUG-002": "6900000000001", "OIL-004": "6900000000003",
            "PHONE-006": "6900000000005"}  # the seed's
CSV = {"Content-Type": "text/csv"}


def bearer(ordo, username: str, roles: list[str], **scope: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token(ordo, username, roles, **scope)}"}


@pytest.fixture
def client(ordo):
    seed(ordo, stock=0)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        c.headers["Accept-Language"] = "en"
        yield c


def route_stops(warehouse: str, units: dict[str, int], shipment: str) -> list[tuple[int, str, str, int, str]]:
    """(seq, bin, SKU, quantity, shipment) along the shortest route through the SKUs' bins."""
    f = FLOORS[warehouse]
    floor = FloorLayout(f["aisles"], f["aisle_length_m"], f["aisle_spacing_m"], f["slot_length_m"],
                        depot_aisle=f.get("depot_aisle", 1))
    at = {bin_point_of(floor, BINS[warehouse][sku]): sku for sku in units}
    route = shortest_route(Layout(floor.aisles, floor.aisle_length_m, floor.aisle_spacing_m, floor.depot_aisle - 1),
                           list(at))
    return [(seq, BINS[warehouse][at[p]], at[p], units[at[p]], shipment) for seq, p in enumerate(route.stops, 1)]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_a_split_domestic_order_goes_from_confirmed_to_delivered_and_its_timeline_holds_every_step(
        client, ordo, clock, database):
    # People: per warehouse a picker, a second person who checks and a packer (scoped to their warehouse);
    # a keeper who lays out the floors; customer service takes the order; logistics tracks it.
    staff = {
        "WH-SH": {"picker": ("li", "WH-SH"), "checker": ("zhao", "WH-SH"), "packer": ("sun", "WH-SH")},
        "WH-BJ": {"picker": ("wang", "WH-BJ"), "checker": ("chen", "WH-BJ"), "packer": ("zhou", "WH-BJ")},
    }
    who = {wh: {job: bearer(ordo, name, ["warehouse"], warehouses=[scope]) for job, (name, scope) in jobs.items()}
           for wh, jobs in staff.items()}
    keeper = bearer(ordo, "keeper", ["warehouse"])
    cathy = bearer(ordo, "cathy", ["customer_service"])
    lena = bearer(ordo, "lena", ["logistics"])

    # Given two laid-out warehouses with stock in bins.
    for wh, floor in FLOORS.items():
        assert client.put(f"/api/v1/warehouses/{wh}/layout", json=floor, headers=keeper).status_code == 200
        for sku, quantity in STOCK[wh].items():
            r = client.post("/api/v1/stock/receipts", json={"warehouse": wh, "sku": sku, "quantity": quantity,
                                                             "reason": "opening stock"}, headers=keeper)
            assert r.status_code == 201, r.text
        for sku, place in BINS[wh].items():
            r = client.put("/api/v1/stock/bins", json={"warehouse": wh, "sku": sku, "bin": place}, headers=keeper)
            assert r.status_code == 200, r.text

    # When customer service takes a paid order: it is confirmed and allocated into two shipments.
    goods = sum(Decimal(p) * q for _, q, p in LINES)
    total = str(goods + Decimal("10.00") - Decimal("5.00"))
    created = client.post("/api/v1/orders", headers=cathy, json=order_payload(
        external_id="WEB-7001", total=total,
        lines=[{"sku": sku, "quantity": q, "unit_price": p} for sku, q, p in LINES],
        payment={"method": "alipay", "status": "paid", "amount_paid": total},
    ))
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    split = [(s["number"], s["warehouse"], s["lines"]) for s in created.json()["shipments"]]
    assert (created.json()["status"], split) == ("allocated", [
            (f"{number}-1", "WH-SH", [{"sku": "TEA-001", "quantity": 2}, {"sku": "OIL-004", "quantity": 1}]),
            (f"{number}-2", "WH-BJ", [{"sku": "MUG-002", "quantity": 1}, {"sku": "PHONE-006", "quantity": 1}]),
    ])
    sh, bj = f"{number}-1", f"{number}-2"
    t: dict[str, datetime] = {"created": clock.now()}

    def tick(step: str, minutes: int = 5) -> datetime:
        clock.advance(timedelta(minutes=minutes))
        t[step] = clock.now()
        return t[step]

    def progress() -> tuple[str, str, list[str]]:
        o = client.get(f"/api/v1/orders/{number}", headers=lena).json()
        return o["status"], o["shipping_progress"], [s["status"] for s in o["shipments"]]

    def scan(headers, shipment: str, sku: str, quantity: int, stage: str = "pick"):
        return client.post(f"/api/v1/shipments/{shipment}/scans", headers=headers,
                           json={"barcode": BARCODES[sku], "quantity": quantity, "stage": stage})

    def act(headers, action: str, shipment: str, **body: Any):
        return client.post(f"/api/v1/orders/{number}/{action}", json={"shipment": shipment, **body}, headers=headers)

    # --- Shanghai: release, claim, pick, check --------------------------------------------------------
    li, zhao, sun = who["WH-SH"]["picker"], who["WH-SH"]["checker"], who["WH-SH"]["packer"]
    tick("sh_release")
    released = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}, headers=li)
    assert released.status_code == 201, released.text
    [sh_list] = released.json()
    # The stops follow the shortest route from the depot at aisle 1: into aisle 1 for the tea and back
    # (2 × 4.5 m), across to aisle 3 (6 m), up to the oil and back (2 × 11.5 m), back to the depot (6 m).
    assert (sh_list["number"], sh_list["shipments"], sh_list["items"], sh_list["status"], sh_list["route_method"],
            sh_list["route_length_m"]) == ("PL000001", [sh], 3, "open", "optimal", 44.0)
    assert [(s["seq"], s["bin"], s["sku"], s["quantity"], s["shipment"]) for s in sh_list["stops"]] == \
        route_stops("WH-SH", {"TEA-001": 2, "OIL-004": 1}, sh)
    assert client.get("/api/v1/pick-lists/PL000001", headers=li).json()["stops"] == sh_list["stops"]

    tick("sh_claim")
    claimed = client.post("/api/v1/pick-lists/PL000001/claim", headers=li)
    assert (claimed.status_code, claimed.json()["status"], claimed.json()["picker"]) == (200, "claimed", "li")
    assert progress() == ("in_fulfillment", "not_shipped", ["picking", "allocated"])

    # A wrong SKU and one too many are refused, saying why, and count nothing.
    wrong = scan(li, sh, "MUG-002", 1)
    assert (wrong.status_code, wrong.json()["detail"]) == (
        409, f'SKU "MUG-002" is not in shipment {sh} (it holds OIL-004 × 1, TEA-001 × 2); nothing was counted.')
    too_many = scan(li, sh, "TEA-001", 3)
    assert (too_many.status_code, too_many.json()["detail"]) == (
        409, f'Shipment {sh} needs 2 of "TEA-001" at the pick stage; 0 already scanned, 3 more would be too '
             "many; nothing was counted.")
    for stop in sh_list["stops"]:  # walking the route
        assert scan(li, sh, stop["sku"], stop["quantity"]).status_code == 201
    tick("sh_finish_pick")
    assert act(li, "finish-pick", sh).status_code == 200
    assert client.get("/api/v1/pick-lists/PL000001", headers=li).json()["status"] == "done"

    # The picker may not check their own picking, neither by scanning nor by checking.
    own = scan(li, sh, "TEA-001", 2, stage="check")
    assert (own.status_code, own.json()["detail"]) == (
        409, f"Shipment {sh} was picked by li; a second person must check it, not li.")
    for sku, quantity in (("TEA-001", 2), ("OIL-004", 1)):
        assert scan(zhao, sh, sku, quantity, stage="check").status_code == 201
    tick("sh_check")
    before = database.row_counts()
    refused = act(li, "check", sh)
    assert (refused.status_code, refused.json()["detail"]) == (
        409, f"Shipment {sh} was picked by li; a second person must check it, not li.")
    assert database.row_counts() == before
    assert act(zhao, "check", sh).status_code == 200
    summary = client.get(f"/api/v1/shipments/{sh}/scans", headers=zhao).json()
    assert (summary["status"], summary["pick"]["by"], summary["check"]["by"], summary["check"]["missing"]) == (
        "checked", ["li"], ["zhao"], {})
    assert [(s["stage"], s["sku"], s["quantity"], s["accepted"], s["refusal"], s["actor"])
            for s in summary["scans"] if not s["accepted"]] == [
        ("pick", "MUG-002", 1, False, "scan_wrong_sku", "li"),
        ("pick", "TEA-001", 3, False, "scan_too_many", "li"),
        ("check", "TEA-001", 2, False, "check_same_person", "li"),
    ]

    # --- Shanghai: pack, carrier, hand-over, first movement -------------------------------------------
    assert client.get(f"/api/v1/shipments/{sh}/packing", headers=sun).json() == {
        "shipment": sh, "status": "checked", "instructions": ["sealed bag"], "temperature_logger_required": False}
    tick("sh_pack")
    packed = client.post(f"/api/v1/shipments/{sh}/pack", headers=sun, json={
        "confirmed": ["sealed bag"],
        "parcels": [{"weight_g": 1200, "length_mm": 300, "width_mm": 200, "height_mm": 150},
                    {"weight_g": 600, "length_mm": 200, "width_mm": 200, "height_mm": 100}]})
    assert packed.status_code == 200, packed.text
    body = packed.json()
    # 1.8 kg is over the light-parcel limit: the default rule; ZTO divides by 8000 (9000 cm³ → 1125 g).
    assert (body["status"], body["carrier"], body["carrier_rule"], body["carrier_reason"]) == (
        "packed", "zto", "default", "standard express")
    assert [(p["weight_g"], p["volumetric_weight_g"], p["chargeable_weight_g"]) for p in body["parcels"]] == [
        (1200, 1125, 1200), (600, 500, 600)]
    tick("sh_hand_over")
    handed = act(sun, "hand-over", sh)
    assert handed.status_code == 200, handed.text
    sh_tracking = f"ZTO{number}1"
    assert [(s["number"], s["status"], s["carrier"], s["tracking_number"]) for s in handed.json()["shipments"]] == [
        (sh, "handed_over", "zto", sh_tracking), (bj, "allocated", None, None)]

    tick("sh_in_transit")
    moved = client.post(f"/api/v1/shipments/{sh}/tracking", headers=lena,
                        json={"kind": "in_transit", "at": t["sh_in_transit"].isoformat(), "location": "上海"})
    assert moved.json() == {"stored": 1, "duplicates": 0}
    assert progress() == ("in_fulfillment", "partially_shipped", ["in_transit", "allocated"])

    # --- Beijing: the same steps by its own people ------------------------------------------------------
    wang, chen, zhou = who["WH-BJ"]["picker"], who["WH-BJ"]["checker"], who["WH-BJ"]["packer"]
    tick("bj_release")
    [bj_list] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-BJ"}, headers=wang).json()
    # Depot at aisle 3: to aisle 2 (2.5 m), up to the mug and back (2 × 5.25 m), over to aisle 5 (7.5 m),
    # up to the phone and back (2 × 14.25 m), back to aisle 3 (5 m).
    assert (bj_list["number"], bj_list["shipments"], bj_list["items"], bj_list["route_method"],
            bj_list["route_length_m"]) == ("PL000002", [bj], 2, "optimal", 54.0)
    assert [(s["seq"], s["bin"], s["sku"], s["quantity"], s["shipment"]) for s in bj_list["stops"]] == \
        route_stops("WH-BJ", {"MUG-002": 1, "PHONE-006": 1}, bj)
    # Shanghai's people do not see Beijing's list.
    assert client.post("/api/v1/pick-lists/PL000002/claim", headers=li).status_code == 404
    tick("bj_claim")
    assert client.post("/api/v1/pick-lists/PL000002/claim", headers=wang).json()["picker"] == "wang"
    assert progress() == ("in_fulfillment", "partially_shipped", ["in_transit", "picking"])
    for stop in bj_list["stops"]:
        assert scan(wang, bj, stop["sku"], stop["quantity"]).status_code == 201
    again = scan(wang, bj, "PHONE-006", 1)
    assert (again.status_code, again.json()["detail"]) == (
        409, f'Shipment {bj} needs 1 of "PHONE-006" at the pick stage; 1 already scanned, 1 more would be too '
             "many; nothing was counted.")
    tick("bj_finish_pick")
    assert act(wang, "finish-pick", bj).status_code == 200
    for sku in ("MUG-002", "PHONE-006"):
        assert scan(chen, bj, sku, 1, stage="check").status_code == 201
    tick("bj_check")
    assert act(wang, "check", bj).status_code == 409
    assert act(chen, "check", bj).status_code == 200

    packing = client.get(f"/api/v1/shipments/{bj}/packing", headers=zhou).json()
    assert (packing["instructions"], packing["temperature_logger_required"]) == (
        ["cushioning", '"fragile" label'], False)
    tick("bj_pack")
    packed = client.post(f"/api/v1/shipments/{bj}/pack", headers=zhou, json={
        "confirmed": packing["instructions"],
        "parcels": [{"weight_g": 900, "length_mm": 250, "width_mm": 200, "height_mm": 120}]})
    assert packed.status_code == 200, packed.text
    # Light, but an electronics rule comes first; SF divides by 6000 (6000 cm³ → 1000 g).
    assert (packed.json()["carrier"], packed.json()["carrier_rule"], packed.json()["carrier_reason"],
            packed.json()["chargeable_weight_g"]) == ("sf", "electronics", "electronics go with the premium carrier",
                                                      1000)
    tick("bj_hand_over")
    bj_tracking = f"SF{number}2"
    handed = act(zhou, "hand-over", bj)
    assert [(s["status"], s["tracking_number"]) for s in handed.json()["shipments"]] == [
        ("in_transit", sh_tracking), ("handed_over", bj_tracking)]

    # --- to the door: the API for Shanghai's parcel, the carrier's CSV file for Beijing's ----------------
    tick("bj_in_transit")
    csv = f"tracking_number,event,at,location\n{bj_tracking},in_transit,{t['bj_in_transit'].isoformat()},北京\n"
    assert client.post("/api/v1/tracking/import", content=csv.encode(), headers={**CSV, **lena}).json() == {
        "stored": 1, "duplicates": 0}
    assert progress() == ("shipped", "shipped", ["in_transit", "in_transit"])

    tick("sh_out_for_delivery", 60 * 18)
    assert client.post(f"/api/v1/shipments/{sh}/tracking", headers=lena, json={
        "kind": "out_for_delivery", "at": t["sh_out_for_delivery"].isoformat(), "location": "浦东"}).status_code == 200
    tick("sh_delivered", 90)
    assert client.post(f"/api/v1/shipments/{sh}/tracking", headers=lena, json={
        "kind": "delivered", "at": t["sh_delivered"].isoformat(), "note": "front desk"}).status_code == 200
    assert progress() == ("shipped", "partially_delivered", ["delivered", "in_transit"])

    tick("bj_delivered", 60 * 24)
    out_at, delivered_at = t["bj_delivered"] - timedelta(hours=3), t["bj_delivered"] - timedelta(minutes=20)
    csv = (f"tracking_number,event,at,location,note\n"
           f"{bj_tracking},delivered,{delivered_at.isoformat()},上海,signed by 张伟\n"
           f"{bj_tracking},in_transit,{t['bj_in_transit'].isoformat()},北京,\n"  # sent again: a duplicate
           f"{bj_tracking},out_for_delivery,{out_at.isoformat()},上海,\n")
    assert client.post("/api/v1/tracking/import", content=csv.encode(), headers={**CSV, **lena}).json() == {
        "stored": 2, "duplicates": 1}
    assert progress() == ("delivered", "delivered", ["delivered", "delivered"])

    # The carrier's own times are kept with its events, and the steps its scans make take those times.
    assert [(e["kind"], e["at"], e["location"], e["note"])
            for e in client.get(f"/api/v1/shipments/{bj}/shipping", headers=lena).json()["events"]] == [
        ("in_transit", iso(t["bj_in_transit"]), "北京", None), ("out_for_delivery", iso(out_at), "上海", None),
        ("delivered", iso(delivered_at), "上海", "signed by 张伟")]

    # Then the order's timeline holds every step of both shipments, in order, by whom and when.
    final = client.get(f"/api/v1/orders/{number}", headers=lena).json()
    assert [(e["name"], e["data"].get("shipment"), e["from_state"], e["to_state"], e["actor"], e["at"])
            for e in final["events"]] == [
        ("order.created", None, None, "pending_review", "cathy", iso(t["created"])),
        ("order.confirm", None, "pending_review", "confirmed", "system", iso(t["created"])),
        ("shipment.created", sh, None, "allocated", "system", iso(t["created"])),
        ("shipment.created", bj, None, "allocated", "system", iso(t["created"])),
        ("order.allocate", None, "confirmed", "allocated", "system", iso(t["created"])),
        ("shipment.start_pick", sh, "allocated", "picking", "li", iso(t["sh_claim"])),
        ("order.start_fulfillment", None, "allocated", "in_fulfillment", "li", iso(t["sh_claim"])),
        ("shipment.finish_pick", sh, "picking", "picked", "li", iso(t["sh_finish_pick"])),
        ("shipment.check", sh, "picked", "checked", "zhao", iso(t["sh_check"])),
        ("shipment.pack", sh, "checked", "packed", "sun", iso(t["sh_pack"])),
        ("shipment.carrier_chosen", sh, None, None, "sun", iso(t["sh_pack"])),
        ("shipment.hand_over", sh, "packed", "handed_over", "sun", iso(t["sh_hand_over"])),
        ("shipment.booked", sh, None, None, "sun", iso(t["sh_hand_over"])),
        ("shipment.ship", sh, "handed_over", "in_transit", "lena", iso(t["sh_in_transit"])),
        ("shipment.start_pick", bj, "allocated", "picking", "wang", iso(t["bj_claim"])),
        ("shipment.finish_pick", bj, "picking", "picked", "wang", iso(t["bj_finish_pick"])),
        ("shipment.check", bj, "picked", "checked", "chen", iso(t["bj_check"])),
        ("shipment.pack", bj, "checked", "packed", "zhou", iso(t["bj_pack"])),
        ("shipment.carrier_chosen", bj, None, None, "zhou", iso(t["bj_pack"])),
        ("shipment.hand_over", bj, "packed", "handed_over", "zhou", iso(t["bj_hand_over"])),
        ("shipment.booked", bj, None, None, "zhou", iso(t["bj_hand_over"])),
        ("shipment.ship", bj, "handed_over", "in_transit", "lena", iso(t["bj_in_transit"])),
        ("order.ship", None, "in_fulfillment", "shipped", "lena", iso(t["bj_in_transit"])),
        ("shipment.out_for_delivery", sh, "in_transit", "out_for_delivery", "lena", iso(t["sh_out_for_delivery"])),
        ("shipment.deliver", sh, "out_for_delivery", "delivered", "lena", iso(t["sh_delivered"])),
        ("shipment.out_for_delivery", bj, "in_transit", "out_for_delivery", "lena", iso(out_at)),
        ("shipment.deliver", bj, "out_for_delivery", "delivered", "lena", iso(delivered_at)),
        ("order.deliver", None, "shipped", "delivered", "lena", iso(delivered_at)),
    ]
    events = {(e["name"], e["data"].get("shipment")): e for e in final["events"]}
    assert [(events[("shipment.carrier_chosen", s)]["reason"],
             events[("shipment.booked", s)]["data"]["tracking_number"]) for s in (sh, bj)] == [
        ("standard express", sh_tracking), ("electronics go with the premium carrier", bj_tracking)]
    assert [events[("shipment.start_pick", s)]["reason"] for s in (sh, bj)] == ["pick list PL000001",
                                                                               "pick list PL000002"]

    # The goods left the shelves at the first movement: nothing is reserved any more.
    levels = {(x["warehouse"], x["sku"]): (x["on_hand"], x["reserved"])
              for wh in FLOORS for x in client.get("/api/v1/stock", params={"warehouse": wh}).json()["items"]}
    assert levels == {("WH-SH", "TEA-001"): (8, 0), ("WH-SH", "OIL-004"): (9, 0), ("WH-BJ", "TEA-001"): (10, 0),
                      ("WH-BJ", "MUG-002"): (9, 0), ("WH-BJ", "PHONE-006"): (9, 0)}

    # And the documents print: the pick lists, packing slips and labels.
    for headers, pick_list, shipment, tracking, bins in (
            (li, "PL000001", sh, sh_tracking, BINS["WH-SH"]), (wang, "PL000002", bj, bj_tracking, BINS["WH-BJ"])):
        printed = pdf(client.get(f"/api/v1/pick-lists/{pick_list}.pdf", headers=headers))
        assert pick_list in printed and all(bins[stop["sku"]] in printed for stop in
                                            client.get(f"/api/v1/pick-lists/{pick_list}", headers=headers).json()[
                                                "stops"])
        assert shipment in pdf(client.get(f"/api/v1/shipments/{shipment}/packing-slip.pdf", headers=headers))
        assert tracking in pdf(client.get(f"/api/v1/shipments/{shipment}/label.pdf", headers=lena))


def pdf(r) -> str:
    """The PDF's text, after checking it is one."""
    assert (r.status_code, r.headers["content-type"]) == (200, "application/pdf"), r.text
    assert r.content.startswith(b"%PDF-")
    return pdfcheck.text(r.content)
