"""Reference data over HTTP: shops, SKUs, warehouses, customers and stock — create, list, get,
update, soft delete, and the exact problem+json answers for bad input (422), duplicates (409),
unknown codes (404), missing tokens (401) and roles without the permission (403)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ordo.entrypoints.api.app import create_app
from tests.factories import order_payload, seed, user_token

API = "/api/v1"


@pytest.fixture
def app(ordo):
    seed(ordo)
    return create_app(ordo)


@pytest.fixture
def client(app, ordo):
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


@pytest.fixture
def as_role(app, ordo):
    """A client acting with one role."""
    clients = []

    def make(role: str, **scope) -> TestClient:
        c = TestClient(app)
        c.headers["Authorization"] = f"Bearer {user_token(ordo, f'{role}-user', [role], **scope)}"
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def problem(status: int, code: str, message: str) -> dict:
    return {"type": f"/problems/{code}", "title": message, "status": status, "code": code, "detail": message}


def invalid(*errors: tuple[str, str, str]) -> dict:
    body = problem(422, "validation_failed", "The request has invalid fields.")
    return {**body, "errors": [{"field": f, "code": c, "message": m} for f, c, m in errors]}


def codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


# --- SKUs ---------------------------------------------------------------------------------------------

SKU = {
    "code": "TEA-100", "barcode": "6901234567892", "name": "Oolong 100g", "category": "tea", "weight_g": 120,
    "length_mm": 100, "width_mm": 60, "height_mm": 40, "price": "35.50", "currency": "CNY", "traits": ["fragile"],
    "hs_code": "0902300000", "declared_value": "30.00", "origin_country": "CN",
}


def test_sku_create_get_list_update_and_soft_delete(client):
    created = client.post(f"{API}/skus", json=SKU)
    assert created.status_code == 201, created.text
    assert created.json() == {**SKU, "active": True}
    assert client.get(f"{API}/skus/TEA-100").json() == {**SKU, "active": True}
    assert codes(client.get(f"{API}/skus", params={"category": "tea"})) == ["TEA-001", "TEA-100"]
    assert codes(client.get(f"{API}/skus", params={"q": "oolong"})) == ["TEA-100"]

    patched = client.patch(f"{API}/skus/TEA-100", json={"price": "36", "traits": [], "hs_code": None})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**SKU, "price": "36.00", "traits": [], "hs_code": None, "active": True}

    deleted = client.delete(f"{API}/skus/TEA-100")
    assert (deleted.status_code, deleted.json()["active"]) == (200, False)
    assert codes(client.get(f"{API}/skus", params={"category": "tea"})) == ["TEA-001"]
    assert codes(client.get(f"{API}/skus", params={"category": "tea", "include_inactive": True})) == [
        "TEA-001", "TEA-100"
    ]
    assert client.get(f"{API}/skus/TEA-100").json()["active"] is False
    reactivated = client.patch(f"{API}/skus/TEA-100", json={"active": True})
    assert reactivated.json()["active"] is True


def test_sku_list_pages_by_code(client):
    pages, cursor = [], None
    while True:
        body = client.get(f"{API}/skus", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([s["code"] for s in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        ["FIREWORK-008", "KNIFE-007", "LYC-003"], ["MUG-002", "OIL-004", "PHONE-006"], ["SOFA-005", "TEA-001"]
    ]


def test_sku_validation_lists_every_field_problem(client):
    response = client.post(f"{API}/skus", json={
        "code": "TEA 1", "name": "", "category": "tea", "price": "9.999", "traits": ["sharp"], "origin_country": "XX",
    })
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == invalid(
        ("code", "code_invalid",
         'code: "TEA 1" may contain only letters, digits, ".", "_" and "-", and must start with a letter or digit.'),
        ("name", "required", "name is required."),
        ("price", "amount_precision", "price: CNY amounts have at most 2 decimal places, got 9.999."),
        ("traits[0]", "one_of",
         'traits[0]: "sharp" is not one of fragile, liquid, perishable, electronics, bulky, prohibited.'),
        ("origin_country", "country_unknown", 'origin_country: "XX" is not an ISO 3166 country code.'),
    )


def test_sku_field_types_are_checked_before_anything_else(client):
    response = client.post(f"{API}/skus", json={
        "code": "TEA-100", "name": "Tea", "category": "tea", "weight_g": "heavy", "price": "abc", "colour": "red",
    })
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "weight_g", "code": "invalid_type", "message": "weight_g must be a whole number."},
        {"field": "price", "code": "invalid_type", "message": "price must be a decimal number."},
        {"field": "colour", "code": "unknown_field", "message": "colour is not a known field."},
    ]
    assert codes(client.get(f"{API}/skus", params={"category": "tea"})) == ["TEA-001"]


def test_sku_messages_in_chinese(client):
    response = client.patch(f"{API}/skus/TEA-001", json={"weight_g": -1}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert (response.json()["title"], response.json()["errors"][0]["message"]) == (
        "请求中有字段不合法。", "weight_g 必须在 0 到 10000000 之间，实际为 -1。"
    )


def test_duplicate_sku_is_409_and_unknown_is_404(client):
    duplicate = client.post(f"{API}/skus", json={**SKU, "code": "TEA-001", "barcode": None})
    assert (duplicate.status_code, duplicate.json()) == (409, problem(409, "conflict", 'SKU "TEA-001" already exists.'))
    for response in (client.get(f"{API}/skus/NOPE"), client.patch(f"{API}/skus/NOPE", json={"name": "x"}),
                     client.delete(f"{API}/skus/NOPE")):
        assert (response.status_code, response.json()) == (404, problem(404, "not_found", "SKU NOPE not found."))


def test_finance_may_read_skus_but_not_write_them(client, as_role):
    finance = as_role("finance")
    assert finance.get(f"{API}/skus/TEA-001").status_code == 200
    for response in (finance.post(f"{API}/skus", json=SKU), finance.patch(f"{API}/skus/TEA-001", json={"name": "x"}),
                     finance.delete(f"{API}/skus/TEA-001")):
        assert (response.status_code, response.json()) == (
            403, problem(403, "forbidden", 'Your roles (finance) may not "reference.write".')
        )
    assert client.get(f"{API}/skus/TEA-001").json()["name"] == "Tea-001"
    assert client.get(f"{API}/skus/TEA-001").json()["active"] is True
    assert codes(client.get(f"{API}/skus", params={"category": "tea"})) == ["TEA-001"]


ROUTES = [
    ("GET", "/shops"), ("GET", "/shops/web-cn"), ("POST", "/shops"), ("PATCH", "/shops/web-cn"),
    ("DELETE", "/shops/web-cn"), ("GET", "/skus"), ("GET", "/skus/TEA-001"), ("POST", "/skus"),
    ("PATCH", "/skus/TEA-001"), ("DELETE", "/skus/TEA-001"), ("GET", "/warehouses"), ("GET", "/warehouses/WH-SH"),
    ("POST", "/warehouses"), ("PATCH", "/warehouses/WH-SH"), ("DELETE", "/warehouses/WH-SH"), ("GET", "/customers"),
    ("GET", "/customers/1"), ("POST", "/customers"), ("PATCH", "/customers/1"), ("POST", "/stock/receipts"),
    ("GET", "/stock"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_reference_route_needs_a_token(app, method, path):
    with TestClient(app) as anonymous:
        response = anonymous.request(method, f"{API}{path}", json={} if method in ("POST", "PATCH") else None)
    assert (response.status_code, response.json()) == (
        401, problem(401, "unauthenticated", "A valid API token is required (Authorization: Bearer <token>).")
    )


# --- shops ----------------------------------------------------------------------------------------------


def test_shop_create_get_list_update_and_soft_delete(client):
    created = client.post(f"{API}/shops", json={"code": "jd-pop", "name": "JD POP store", "channel": "marketplace"})
    assert created.status_code == 201, created.text
    shop = {"code": "jd-pop", "name": "JD POP store", "channel": "marketplace", "active": True,
            "created_at": "2026-03-15T02:00:00Z"}
    assert created.json() == shop
    assert client.get(f"{API}/shops/jd-pop").json() == shop
    assert codes(client.get(f"{API}/shops")) == ["jd-pop", "tmall", "web-cn"]
    assert codes(client.get(f"{API}/shops", params={"channel": "marketplace"})) == ["jd-pop", "tmall"]
    patched = client.patch(f"{API}/shops/jd-pop", json={"name": "JD flagship", "channel": "WEB"})
    assert patched.json() == {**shop, "name": "JD flagship", "channel": "web"}
    assert client.delete(f"{API}/shops/jd-pop").json() == {**shop, "name": "JD flagship", "channel": "web",
                                                            "active": False}
    assert codes(client.get(f"{API}/shops")) == ["tmall", "web-cn"]


def test_a_deleted_shop_keeps_its_orders_and_takes_no_new_ones(client):
    number = client.post(f"{API}/orders", json=order_payload()).json()["number"]
    assert client.delete(f"{API}/shops/web-cn").status_code == 200
    assert client.get(f"{API}/orders/{number}").json()["shop"] == "web-cn"
    refused = client.post(f"{API}/orders", json=order_payload(external_id="WEB-1002"))
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "shop", "code": "shop_unknown", "message": 'shop: unknown shop "web-cn".'}
    ]


def test_shop_validation_and_duplicates(client):
    response = client.post(f"{API}/shops", json={"code": "", "channel": "fax"})
    assert response.json() == invalid(
        ("code", "required", "code is required."),
        ("name", "required", "name is required."),
        ("channel", "one_of", 'channel: "fax" is not one of web, app, mini_program, marketplace, offline, email, api.'),
    )
    duplicate = client.post(f"{API}/shops", json={"code": "web-cn", "name": "Again", "channel": "web"})
    assert (duplicate.status_code, duplicate.json()["detail"]) == (409, 'shop "web-cn" already exists.')
    assert client.get(f"{API}/shops/web-cn").json()["name"] == "官网商城"


# --- warehouses -------------------------------------------------------------------------------------------


def test_warehouse_create_get_list_update_and_soft_delete(client):
    created = client.post(f"{API}/warehouses", json={
        "code": "WH-GZ", "name": "广州仓", "kind": "domestic", "country": "cn", "region": "广东",
        "serves": ["hk", "CN", "MO"], "capabilities": ["cold_chain"], "priority": 30,
    })
    assert created.status_code == 201, created.text
    warehouse = {"code": "WH-GZ", "name": "广州仓", "kind": "domestic", "country": "CN", "region": "广东",
                 "serves": ["CN", "HK", "MO"], "capabilities": ["cold_chain"], "priority": 30, "active": True}
    assert created.json() == warehouse
    assert client.get(f"{API}/warehouses/WH-GZ").json() == warehouse
    assert codes(client.get(f"{API}/warehouses", params={"country": "CN"})) == ["WH-BJ", "WH-GZ", "WH-SH"]
    assert client.patch(f"{API}/warehouses/WH-GZ", json={"priority": 5}).json() == {**warehouse, "priority": 5}
    assert client.delete(f"{API}/warehouses/WH-GZ").json() == {**warehouse, "priority": 5, "active": False}
    assert codes(client.get(f"{API}/warehouses")) == ["WH-BJ", "WH-LA", "WH-SH"]


def test_warehouse_validation_duplicates_and_reserved_stock(client):
    response = client.post(f"{API}/warehouses", json={
        "code": "WH-X", "name": "X", "kind": "moon", "country": "XX", "serves": ["US", "ZZ"],
        "capabilities": ["Cold Chain"], "priority": -1,
    })
    assert response.json() == invalid(
        ("kind", "one_of", 'kind: "moon" is not one of domestic, overseas.'),
        ("country", "country_unknown", 'country: "XX" is not an ISO 3166 country code.'),
        ("region", "required", "region is required."),
        ("serves[1]", "country_unknown", 'serves[1]: "ZZ" is not an ISO 3166 country code.'),
        ("capabilities[0]", "identifier_invalid",
         'capabilities[0]: "Cold Chain" may contain only lower-case letters, digits and "_".'),
        ("priority", "out_of_range", "priority must be between 0 and 10000, got -1."),
    )
    duplicate = client.post(f"{API}/warehouses", json={
        "code": "WH-SH", "name": "X", "kind": "domestic", "country": "CN", "region": "上海",
    })
    assert (duplicate.status_code, duplicate.json()["detail"]) == (409, 'warehouse "WH-SH" already exists.')
    assert client.post(f"{API}/orders", json=order_payload()).json()["status"] == "allocated"
    refused = client.delete(f"{API}/warehouses/WH-SH")
    assert (refused.status_code, refused.json()) == (
        409, problem(409, "conflict", 'warehouse "WH-SH" is used by 1 orders and cannot be deleted.')
    )
    assert client.get(f"{API}/warehouses/WH-SH").json()["active"] is True


# --- customers --------------------------------------------------------------------------------------------


def test_customer_create_get_list_update(client):
    created = client.post(f"{API}/customers", json={
        "name": "李娜", "phone": "139-1234-5678", "email": "li.na@example.cn", "account": "tmall:lina", "vip_level": 2,
    })
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer == {"id": customer["id"], "name": "李娜", "phone": "+8613912345678", "email": "li.na@example.cn",
                        "account": "tmall:lina", "vip_level": 2, "created_at": "2026-03-15T02:00:00Z"}
    assert client.get(f"{API}/customers/{customer['id']}").json() == customer
    assert client.get(f"{API}/customers", params={"phone": "13912345678"}).json() == {
        "items": [customer], "next_cursor": None
    }
    patched = client.patch(f"{API}/customers/{customer['id']}", json={"vip_level": 5, "email": None})
    assert patched.json() == {**customer, "vip_level": 5, "email": None}


def test_customer_validation_duplicates_and_unknown(client):
    first = client.post(f"{API}/customers", json={"name": "李娜", "phone": "13912345678"}).json()
    out_of_range = client.patch(f"{API}/customers/{first['id']}", json={"vip_level": 10})
    assert out_of_range.json() == invalid(
        ("vip_level", "out_of_range", "vip_level must be between 0 and 9, got 10.")
    )
    no_contact = client.post(f"{API}/customers", json={"name": "王芳"})
    assert no_contact.json() == invalid(
        ("phone", "phone_or_email_required", "phone: a phone number or an e-mail address is required.")
    )
    duplicate = client.post(f"{API}/customers", json={"name": "Lina", "phone": "+86 139 1234 5678"})
    assert (duplicate.status_code, duplicate.json()["detail"]) == (409, 'customer "+8613912345678" already exists.')
    missing = client.get(f"{API}/customers/{first['id'] + 100}")
    assert (missing.status_code, missing.json()["detail"]) == (404, f"customer {first['id'] + 100} not found.")
    assert [c["id"] for c in client.get(f"{API}/customers").json()["items"]] == [first["id"]]


# --- stock ------------------------------------------------------------------------------------------------


def test_stock_receipt_and_levels(client):
    received = client.post(f"{API}/stock/receipts", json={
        "warehouse": "WH-SH", "sku": "TEA-001", "quantity": 20, "reason": "purchase", "reference": "PO-77",
    })
    assert received.status_code == 201, received.text
    assert received.json() == {"warehouse": "WH-SH", "sku": "TEA-001", "on_hand": 120, "reserved": 0, "available": 120,
                               "bin": None}
    client.post(f"{API}/orders", json=order_payload())
    assert client.get(f"{API}/stock", params={"sku": "TEA-001"}).json() == {"items": [
        {"warehouse": "WH-LA", "sku": "TEA-001", "on_hand": 100, "reserved": 0, "available": 100, "bin": None},
        {"warehouse": "WH-SH", "sku": "TEA-001", "on_hand": 120, "reserved": 2, "available": 118, "bin": None},
    ]}
    assert [(s["warehouse"], s["sku"]) for s in client.get(f"{API}/stock", params={"warehouse": "WH-BJ"}).json()[
        "items"]] == [("WH-BJ", "LYC-003")]
    missing = client.get(f"{API}/stock", params={"sku": "NOPE"})
    assert (missing.status_code, missing.json()["detail"]) == (404, "SKU NOPE not found.")


def test_stock_receipt_validation(client):
    response = client.post(f"{API}/stock/receipts", json={"warehouse": "WH-XX", "sku": "", "quantity": 0})
    assert response.json() == invalid(
        ("warehouse", "warehouse_unknown", 'warehouse: unknown warehouse "WH-XX".'),
        ("sku", "required", "sku is required."),
        ("quantity", "out_of_range", "quantity must be between 1 and 1000000, got 0."),
    )
    assert client.get(f"{API}/stock", params={"sku": "TEA-001", "warehouse": "WH-SH"}).json()["items"][0][
        "on_hand"] == 100


def test_stock_permissions(client, as_role):
    receipt = {"warehouse": "WH-SH", "sku": "TEA-001", "quantity": 5}
    service, finance, warehouse = as_role("customer_service"), as_role("finance"), as_role("warehouse")
    refused = service.post(f"{API}/stock/receipts", json=receipt)
    assert (refused.status_code, refused.json()["detail"]) == (
        403, 'Your roles (customer_service) may not "stock.write".'
    )
    assert service.get(f"{API}/stock").status_code == 200
    unread = finance.get(f"{API}/stock")
    assert (unread.status_code, unread.json()["detail"]) == (403, 'Your roles (finance) may not "stock.read".')
    accepted = warehouse.post(f"{API}/stock/receipts", json=receipt)
    assert (accepted.status_code, accepted.json()["on_hand"]) == (201, 105)
