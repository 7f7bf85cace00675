"""The warehouse floor on both databases: layouts, bins, waves into pick lists in route order, claims,
scans and the pick / check guards."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.entrypoints.api.app import create_app
from ordo.fulfillment.layout import FloorLayout, bin_point_of
from ordo.fulfillment.picking import claim_pick_list
from ordo.fulfillment.queries import PickStopView, pick_list_view
from ordo.fulfillment.routing import BlockLayout, Layout, block_route, shortest_route
from ordo.fulfillment.tables import PickList, PickListStop, ShipmentScan, WarehouseLayout
from ordo.kernel.errors import Conflict
from ordo.policy import Policy, WarehousePolicy
from ordo.settings import Settings
from tests.factories import order_payload, seed, user_token

LAYOUT = {"aisles": 4, "aisle_length_m": 20, "aisle_spacing_m": 3, "slot_length_m": 1}
FLOOR = FloorLayout(4, 20.0, 3.0, 1.0)
BINS = {"TEA-001": "A01-005-L", "MUG-002": "A04-018-R", "OIL-004": "A02-020-L"}
PRICES = {"TEA-001": Decimal("25.00"), "MUG-002": Decimal("39.90"), "OIL-004": Decimal("59.00")}
ZH = {"Accept-Language": "zh-CN"}


def client_for(ordo: Ordo, username: str = "root", roles: tuple[str, ...] = ("admin",)) -> TestClient:
    c = TestClient(create_app(ordo))
    c.headers["Authorization"] = f"Bearer {user_token(ordo, username, list(roles))}"
    return c


@pytest.fixture
def app(database, clock):
    """Pick lists of at most 3 units; WH-SH laid out as LAYOUT with BINS."""
    database.empty()
    policy = Policy(warehouse=WarehousePolicy(max_items_per_pick_list=3))
    ordo = Ordo(Settings(database_url=database.url), clock=clock, policy=policy, engine=database.engine)
    seed(ordo)
    return ordo


@pytest.fixture
def client(app):
    with client_for(app) as c:
        assert c.put("/api/v1/warehouses/WH-SH/layout", json=LAYOUT).status_code == 200
        for sku, place in BINS.items():
            r = c.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": sku, "bin": place})
            assert r.status_code == 200, r.text
        yield c


def place(client, external_id: str, lines: dict[str, int], order_class: str = "normal") -> str:
    goods = sum((PRICES[sku] * q for sku, q in lines.items()), Decimal(0))
    total = str(goods + 5)
    r = client.post("/api/v1/orders", json=order_payload(
        external_id=external_id, order_class=order_class, total=total,
        lines=[{"sku": sku, "quantity": q, "unit_price": str(PRICES[sku])} for sku, q in lines.items()],
        payment={"method": "alipay", "status": "paid", "amount_paid": total},
    ))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "allocated", r.json()
    return r.json()["number"]


def count(ordo: Ordo, table) -> int:
    with ordo.reading() as uow:
        return uow.session.scalar(select(func.count()).select_from(table)) or 0


# --- layout and bins --------------------------------------------------------------------------------


def test_a_warehouse_without_a_layout_shows_the_policy_default_and_keeps_the_one_it_is_given(app):
    with client_for(app) as c:
        shown = c.get("/api/v1/warehouses/WH-BJ/layout")
        assert shown.json() == {"warehouse": "WH-BJ", "default": True, "aisles": 10, "aisle_length_m": 30.0,
                                "aisle_spacing_m": 3.0, "slot_length_m": 1.0, "middle_cross_aisles_m": [],
                                "depot_aisle": 1, "slots_per_side": 30, "single_block": True}
        body = {"aisles": 6, "aisle_length_m": 40, "aisle_spacing_m": 2.5, "slot_length_m": 1.25,
                "middle_cross_aisles_m": [20], "depot_aisle": 3}
        assert c.put("/api/v1/warehouses/WH-BJ/layout", json=body).status_code == 200
        assert c.get("/api/v1/warehouses/WH-BJ/layout").json() == {
            "warehouse": "WH-BJ", "default": False, "aisles": 6, "aisle_length_m": 40.0, "aisle_spacing_m": 2.5,
            "slot_length_m": 1.25, "middle_cross_aisles_m": [20.0], "depot_aisle": 3, "slots_per_side": 32,
            "single_block": False,
        }
        assert c.get("/api/v1/warehouses/WH-XX/layout").status_code == 404


def test_an_invalid_layout_is_a_422_naming_each_field_and_writes_nothing(app):
    with client_for(app) as c:
        r = c.put("/api/v1/warehouses/WH-SH/layout", headers=ZH,
                  json={"aisles": 120, "aisle_length_m": 20, "aisle_spacing_m": 0, "slot_length_m": 1,
                        "middle_cross_aisles_m": [25]})
        assert r.status_code == 422
        assert [(e["field"], e["message"]) for e in r.json()["errors"]] == [
            ("aisles", "aisles 必须在 1 到 99 之间，实际为 120。"),
            ("aisle_spacing_m", "aisle_spacing_m 必须大于 0 且不超过 100.0 米，实际为 0.0。"),
            ("middle_cross_aisles_m[0]",
             "middle_cross_aisles_m[0]：中间横向通道位于 25.0 米，必须在前通道（0 米）与后通道（20.0 米）之间。"),
        ]
        typed = c.put("/api/v1/warehouses/WH-SH/layout", json={**LAYOUT, "aisles": "many"})
        assert (typed.status_code, [e["field"] for e in typed.json()["errors"]]) == (422, ["aisles"])
    assert count(app, WarehouseLayout) == 0


def test_a_bin_must_be_a_bin_code_inside_the_layout(client, app):
    outside = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "TEA-001", "bin": "A05-001-L"})
    assert outside.status_code == 422
    assert [(e["field"], e["message"]) for e in outside.json()["errors"]] == [
        ("bin", 'bin: bin "A05-001-L" is outside the layout of warehouse WH-SH (4 aisles, 20 slots per side).'),
    ]
    too_far = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "TEA-001", "bin": "A01-021-L"})
    assert too_far.status_code == 422
    malformed = client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "TEA-001", "bin": "A-03-12-L"})
    assert [(e["field"], e["message"]) for e in malformed.json()["errors"]] == [
        ("bin", 'bin: "A-03-12-L" is not a bin address (aisle, slot and side, e.g. A03-015-L).'),
    ]
    levels = client.get("/api/v1/stock", params={"warehouse": "WH-SH", "sku": "TEA-001"}).json()
    assert [x["bin"] for x in levels["items"]] == ["A01-005-L"]  # unchanged
    # a smaller floor would leave bins in use outside it
    shrink = client.put("/api/v1/warehouses/WH-SH/layout", json={**LAYOUT, "aisles": 2})
    assert shrink.status_code == 422
    assert [(e["field"], e["message"]) for e in shrink.json()["errors"]] == [
        ("aisles", "aisles: bins A04-018-R of warehouse WH-SH would lie outside this layout; move them first."),
    ]
    with app.reading() as uow:
        assert uow.session.scalar(select(WarehouseLayout.aisles)) == 4


# --- waves ------------------------------------------------------------------------------------------


def test_release_groups_fresh_and_urgent_first_then_by_age_within_the_item_limit(client, app, clock):
    normal = place(client, "W-1", {"TEA-001": 2})
    clock.advance(timedelta(minutes=1))
    urgent = place(client, "W-2", {"MUG-002": 1}, "urgent")
    clock.advance(timedelta(minutes=1))
    fresh = place(client, "W-3", {"OIL-004": 2}, "fresh")
    clock.advance(timedelta(minutes=1))
    later = place(client, "W-4", {"TEA-001": 1})
    r = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"})
    assert r.status_code == 201, r.text
    assert [(p["number"], p["shipments"], p["items"], p["status"]) for p in r.json()] == [
        ("PL000001", [f"{fresh}-1", f"{urgent}-1"], 3, "open"),
        ("PL000002", [f"{normal}-1", f"{later}-1"], 3, "open"),
    ]
    again = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"})
    assert (again.status_code, again.json()) == (201, [])
    listed = client.get("/api/v1/pick-lists", params={"warehouse": "WH-SH", "status": "open"}).json()
    assert [p["number"] for p in listed["items"]] == ["PL000001", "PL000002"]
    assert client.get("/api/v1/pick-lists", params={"status": "claimed"}).json() == {"items": []}
    assert client.get("/api/v1/pick-lists", params={"status": "lost"}).status_code == 422


def test_the_stops_follow_the_shortest_route_through_the_bins_and_carry_its_length(client, app):
    number = place(client, "R-1", {"MUG-002": 1, "TEA-001": 1, "OIL-004": 1})
    [released] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}).json()
    shown = client.get(f"/api/v1/pick-lists/{released['number']}").json()
    optimum = shortest_route(Layout(4, 20.0, 3.0, 0), [bin_point_of(FLOOR, b) for b in BINS.values()])
    by_point = {bin_point_of(FLOOR, b): b for b in BINS.values()}
    assert [s["bin"] for s in shown["stops"]] == [by_point[p] for p in optimum.stops]
    assert shown["route_length_m"] == optimum.length
    assert shown["route_method"] == "optimal"
    with app.reading() as uow:
        view = pick_list_view(uow.session, released["number"])
    assert (view.number, view.warehouse, view.picker, view.route_length_m) == (
        "PL000001", "WH-SH", None, optimum.length)
    bin_sku = {b: s for s, b in BINS.items()}
    assert view.stops == [
        PickStopView(seq, by_point[p], bin_sku[by_point[p]], bin_sku[by_point[p]].title(), 1, f"{number}-1")
        for seq, p in enumerate(optimum.stops, start=1)
    ]


def test_on_a_floor_with_a_middle_cross_aisle_the_block_router_orders_the_stops(client, app):
    assert client.put("/api/v1/warehouses/WH-SH/layout",
                      json={**LAYOUT, "middle_cross_aisles_m": [10], "depot_aisle": 2}).status_code == 200
    place(client, "M-1", {"MUG-002": 1, "TEA-001": 1, "OIL-004": 1})
    [released] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}).json()
    points = [bin_point_of(FLOOR, b) for b in BINS.values()]
    expected = block_route(BlockLayout(4, (0.0, 10.0, 20.0), 3.0, 1), points)
    by_point = {bin_point_of(FLOOR, b): b for b in BINS.values()}
    assert [s["bin"] for s in released["stops"]] == [by_point[p] for p in expected.stops]
    assert (released["route_length_m"], released["route_method"]) == (expected.length, "improved_heuristic")
    assert released["route_length_m"] <= min(expected.heuristics.values())


def test_release_is_refused_while_a_sku_to_pick_has_no_bin_and_writes_nothing(client, app):
    client.put("/api/v1/stock/bins", json={"warehouse": "WH-SH", "sku": "OIL-004", "bin": ""})
    place(client, "B-1", {"OIL-004": 1, "TEA-001": 1})
    r = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"})
    assert (r.status_code, r.json()["detail"]) == (
        409, "Warehouse WH-SH has no bin within its layout for OIL-004; set one (PUT /api/v1/stock/bins) before "
             "releasing pick lists.")
    assert (count(app, PickList), count(app, PickListStop)) == (0, 0)
    unknown = client.post("/api/v1/pick-lists", json={"warehouse": "WH-XX"})
    assert [e["field"] for e in unknown.json()["errors"]] == ["warehouse"]


# --- claims -----------------------------------------------------------------------------------------


def test_of_two_pickers_racing_for_a_list_exactly_one_gets_it_and_its_shipments_start_picking(client, app):
    number = place(client, "C-1", {"TEA-001": 1})
    [released] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}).json()
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def race(name: str) -> None:
        actor = Actor(name=name, roles=frozenset({Role.WAREHOUSE}))
        barrier.wait()
        try:
            with app.transaction() as uow:
                outcomes[name] = claim_pick_list(uow, number=released["number"], actor=actor).picker
        except Conflict as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=race, args=(n,)) for n in ("li", "wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, o in outcomes.items() if o == n]
    [loser] = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(winners) == 1
    assert (loser.key, loser.params) == ("pick_list_taken", {"number": "PL000001", "status": "claimed",
                                                             "picker": winners[0]})
    order = client.get(f"/api/v1/orders/{number}").json()
    assert (order["status"], order["shipments"][0]["status"]) == ("in_fulfillment", "picking")
    assert [e["name"] for e in order["events"]].count("shipment.start_pick") == 1
    shown = client.get("/api/v1/pick-lists/PL000001").json()
    assert (shown["status"], shown["picker"]) == ("claimed", winners[0])


# --- scans and guards -------------------------------------------------------------------------------


@pytest.fixture
def picking(client, app):
    """An order of TEA-001 × 2 and MUG-002 × 1 whose shipment is being picked by "li"."""
    number = place(client, "S-1", {"TEA-001": 2, "MUG-002": 1})
    client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"})
    with client_for(app, "li", ("warehouse",)) as li:
        assert li.post("/api/v1/pick-lists/PL000001/claim").status_code == 200
        yield number, li


TEA, MUG, OIL = "6900000000000", "6900000000001", "6900000000003"  # the seed's barcodes


def scan(c, shipment: str, barcode: str, quantity: int = 1, stage: str = "pick", **kw):
    return c.post(f"/api/v1/shipments/{shipment}/scans", json={"barcode": barcode, "quantity": quantity,
                                                               "stage": stage}, **kw)


def test_wrong_sku_too_many_and_unknown_barcodes_are_refused_recorded_and_count_nothing(picking, app):
    number, li = picking
    shipment = f"{number}-1"
    wrong = scan(li, shipment, OIL)
    assert (wrong.status_code, wrong.json()["detail"]) == (
        409, f'SKU "OIL-004" is not in shipment {shipment} (it holds MUG-002 × 1, TEA-001 × 2); nothing was counted.')
    too_many = scan(li, shipment, TEA, 3, headers=ZH)
    assert (too_many.status_code, too_many.json()["detail"]) == (
        409, f"包裹 {shipment} 在拣货环节需要“TEA-001” 2 件，已扫描 0 件，再扫 3 件将超出；未计数。")
    unknown = scan(li, shipment, "0000")
    assert (unknown.status_code, unknown.json()["detail"]) == (
        409, f'Barcode "0000" belongs to no SKU; nothing was counted for shipment {shipment}.')
    summary = li.get(f"/api/v1/shipments/{shipment}/scans").json()
    assert summary["pick"] == {"expected": {"MUG-002": 1, "TEA-001": 2}, "scanned": {},
                               "missing": {"MUG-002": 1, "TEA-001": 2}, "by": []}
    assert [(s["barcode"], s["sku"], s["quantity"], s["accepted"], s["refusal"], s["actor"])
            for s in summary["scans"]] == [
        (OIL, "OIL-004", 1, False, "scan_wrong_sku", "li"),
        (TEA, "TEA-001", 3, False, "scan_too_many", "li"),
        ("0000", None, 1, False, "scan_unknown_barcode", "li"),
    ]
    # one accepted, then one too many on top of it
    assert scan(li, shipment, TEA, 2).status_code == 201
    over = scan(li, shipment, TEA)
    assert over.json()["detail"] == (f'Shipment {shipment} needs 2 of "TEA-001" at the pick stage; 2 already '
                                     "scanned, 1 more would be too many; nothing was counted.")
    assert li.get(f"/api/v1/shipments/{shipment}/scans").json()["pick"]["scanned"] == {"TEA-001": 2}


def test_scans_that_are_bad_input_or_at_the_wrong_stage_write_nothing(picking, app):
    number, li = picking
    shipment = f"{number}-1"
    bad = li.post(f"/api/v1/shipments/{shipment}/scans", json={"barcode": TEA, "quantity": 0})
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (422, ["quantity", "stage"])
    early = scan(li, shipment, TEA, stage="check")
    assert (early.status_code, early.json()["detail"]) == (
        409, f"Shipment {shipment} is picking; check scans are taken while it is picked.")
    assert scan(li, "NOPE-1", TEA).status_code == 404
    assert count(app, ShipmentScan) == 0


def test_finish_pick_waits_for_every_unit_and_check_for_a_second_person(picking, app):
    number, li = picking
    shipment = f"{number}-1"
    scan(li, shipment, TEA)
    short = li.post(f"/api/v1/orders/{number}/finish-pick", json={})
    assert (short.status_code, short.json()["detail"]) == (
        409, f"Shipment {shipment} cannot finish picking: still to scan MUG-002 × 1, TEA-001 × 1.")
    scan(li, shipment, TEA)
    scan(li, shipment, MUG)
    assert li.post(f"/api/v1/orders/{number}/finish-pick", json={}).status_code == 200
    with client_for(app, "zhao", ("warehouse",)) as zhao:
        unchecked = zhao.post(f"/api/v1/orders/{number}/check", json={})
        assert unchecked.json()["detail"] == (
            f"Shipment {shipment} cannot be checked: still to scan at the check MUG-002 × 1, TEA-001 × 2.")
        # the picker may not scan the check stage …
        own = scan(li, shipment, TEA, 2, stage="check", headers=ZH)
        assert (own.status_code, own.json()["detail"]) == (
            409, f"包裹 {shipment} 由 li 拣货；复核须由另一人完成，不能是 li。")
        assert scan(zhao, shipment, TEA, 2, stage="check").status_code == 201
        assert scan(zhao, shipment, MUG, stage="check").status_code == 201
        # … nor check it once a second person has scanned
        same = li.post(f"/api/v1/orders/{number}/check", json={})
        assert (same.status_code, same.json()["detail"]) == (
            409, f"Shipment {shipment} was picked by li; a second person must check it, not li.")
        assert li.get(f"/api/v1/orders/{number}").json()["shipments"][0]["status"] == "picked"
        checked = zhao.post(f"/api/v1/orders/{number}/check", json={})
        assert checked.status_code == 200, checked.text
    summary = li.get(f"/api/v1/shipments/{shipment}/scans").json()
    assert (summary["status"], summary["pick"]["by"], summary["check"]["by"], summary["check"]["missing"]) == (
        "checked", ["li"], ["zhao"], {})
    assert [s["refusal"] for s in summary["scans"] if not s["accepted"]] == ["check_same_person"]


def test_the_whole_walk_from_release_to_checked_over_http(client, app):
    number = place(client, "F-1", {"OIL-004": 1, "TEA-001": 1})
    [released] = client.post("/api/v1/pick-lists", json={"warehouse": "WH-SH"}).json()
    with client_for(app, "li", ("warehouse",)) as li, client_for(app, "zhao", ("warehouse",)) as zhao:
        assert li.post(f"/api/v1/pick-lists/{released['number']}/claim").json()["picker"] == "li"
        taken = zhao.post(f"/api/v1/pick-lists/{released['number']}/claim")
        assert (taken.status_code, taken.json()["detail"]) == (
            409, "Pick list PL000001 is already claimed (picker: li).")
        shipment = f"{number}-1"
        for stop in li.get(f"/api/v1/pick-lists/{released['number']}").json()["stops"]:
            assert scan(li, stop["shipment"], {"OIL-004": OIL, "TEA-001": TEA}[stop["sku"]],
                        stop["quantity"]).status_code == 201
        assert li.post(f"/api/v1/orders/{number}/finish-pick", json={}).status_code == 200
        assert li.get(f"/api/v1/pick-lists/{released['number']}").json()["status"] == "done"
        assert scan(zhao, shipment, TEA, stage="check").status_code == 201
        assert scan(zhao, shipment, OIL, stage="check").status_code == 201
        assert zhao.post(f"/api/v1/orders/{number}/check", json={}).status_code == 200
    order = client.get(f"/api/v1/orders/{number}").json()
    assert order["shipments"][0]["status"] == "checked"
    assert [(e["name"], e["actor"]) for e in order["events"] if e["name"].startswith("shipment.")][1:] == [
        ("shipment.start_pick", "li"), ("shipment.finish_pick", "li"), ("shipment.check", "zhao"),
    ]
