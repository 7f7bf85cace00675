"""Access control over HTTP: tokens on every route, passwords, roles and scopes (shops, warehouses)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from itertools import count
from typing import Any

import fastapi.routing
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ordo.auth.handlers import add_user, create_token, revoke_tokens, set_active
from ordo.auth.model import Role
from ordo.auth.tables import ApiToken, User
from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.order.actions import OrderAction
from ordo.order.tables import Order
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token

PROBLEM = "application/problem+json"
UNAUTHENTICATED = "A valid API token is required (Authorization: Bearer <token>)."
BAD_CREDENTIALS = "Wrong user name or password."

# (method, path template) that need no token; everything else must answer 401 without one.
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"), ("POST", "/api/v1/auth/token"), ("GET", "/api/v1/track/{number}"),
}


@pytest.fixture
def app(ordo) -> FastAPI:
    seed(ordo)
    return create_app(ordo)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def admin(ordo) -> dict[str, str]:
    return bearer(user_token(ordo, "root", ["admin"]))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, code: str, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json() == {
        "type": f"/problems/{code}", "title": detail, "status": status, "code": code, "detail": detail,
    }


# --- every route needs a valid token ------------------------------------------------------------


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route, also those in included routers."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI with lazily included routers
    routes = iterate(app.routes) if iterate is not None else app.routes
    found = set()
    for route in routes:
        path = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if path and method not in ("HEAD", "OPTIONS"):
                found.add((method, path))
    return sorted(found)


def protected(app: FastAPI) -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes_of(app) if (m, p) not in PUBLIC]


def dummy(path: str) -> str:
    # "x" is neither an order number nor an action: without the token check first this is a 404 or 422.
    return re.sub(r"\{[^}]+\}", "x", path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    # A body that fails validation wherever a body is read: the 401 must come before the 422.
    body = {"json": {"unexpected": ["field"]}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, dummy(path), headers=headers, **body)


def test_route_listing_sees_every_router(app):
    routes = routes_of(app)
    assert set(routes) >= PUBLIC, "a public route vanished; update PUBLIC"
    for expected in [("GET", "/api/v1/orders"), ("POST", "/api/v1/orders"), ("GET", "/api/v1/orders/{number}"),
                     ("POST", "/api/v1/orders/{number}/{action}"), ("GET", "/api/v1/auth/me"),
                     ("DELETE", "/api/v1/auth/token"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users")]:
        assert expected in routes


def test_public_routes_answer_without_a_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_every_other_route_refuses_a_missing_or_bad_token(app, client, ordo, clock):
    with ordo.transaction() as uow:
        add_user(uow, username="revoked", roles=["admin"])
        revoked = create_token(uow, username="revoked")
        add_user(uow, username="expired", roles=["admin"])
        expired = create_token(uow, username="expired", ttl=timedelta(hours=1))
        add_user(uow, username="gone", roles=["admin"])
        of_disabled_user = create_token(uow, username="gone")
    with ordo.transaction() as uow:
        revoke_tokens(uow, username="revoked")
        set_active(uow, username="gone", active=False)
    clock.advance(timedelta(hours=1))
    attempts = {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "wrong token": bearer("ordo_" + "A" * 43),
        "not bearer": {"Authorization": "Basic cm9vdDpzZWNyZXQ="},
        "revoked": bearer(revoked),
        "expired": bearer(expired),
        "disabled user": bearer(of_disabled_user),
    }
    routes = protected(app)
    assert len(routes) >= 10
    for method, path in routes:
        for what, headers in attempts.items():
            r = call(client, method, path, headers)
            assert r.status_code == 401, (method, path, what, r.status_code, r.text)
            assert_problem(r, 401, "unauthenticated", UNAUTHENTICATED)


def test_the_same_requests_with_a_valid_token_get_past_the_token_check(app, client, ordo):
    """Proves the 401 above came first: with a token the dummy requests are 404 / 422 / 2xx."""
    for i, (method, path) in enumerate(protected(app)):
        token = user_token(ordo, f"admin{i}", ["admin"])  # a fresh one: DELETE /auth/token revokes it
        r = call(client, method, path, bearer(token))
        assert r.status_code != 401, (method, path, r.text)
        assert r.status_code in (200, 201, 204, 404, 422), (method, path, r.status_code, r.text)


def test_refusal_is_in_the_callers_language(client):
    r = client.get("/api/v1/orders", headers={"Accept-Language": "zh-CN"})
    assert_problem(r, 401, "unauthenticated", "需要有效的 API 令牌（Authorization: Bearer <token>）。")


def test_token_expires_exactly_at_its_end(client, ordo, clock):
    with ordo.transaction() as uow:
        add_user(uow, username="temp", roles=["supervisor"])
        token = create_token(uow, username="temp", ttl=timedelta(hours=1))
    clock.advance(timedelta(minutes=59, seconds=59))
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_problem(client.get("/api/v1/auth/me", headers=bearer(token)), 401, "unauthenticated", UNAUTHENTICATED)


# --- passwords and tokens ------------------------------------------------------------------------


def test_login_with_the_right_password_gives_a_12_hour_token(client, ordo, clock):
    with ordo.transaction() as uow:
        add_user(uow, username="alice", roles=["customer_service"], password="correct horse", shops=["tmall"])
    r = client.post("/api/v1/auth/token", json={"username": "alice", "password": "correct horse"})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert r.json()["token_type"] == "bearer"
    assert token.startswith("ordo_")
    me = client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json() == {"username": "alice", "roles": ["customer_service"], "shops": ["tmall"], "warehouses": []}
    with ordo.reading() as uow:
        user = uow.session.scalars(select(User).where(User.username == "alice")).one()
        stored = uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        assert PasswordHasher().verify(user.password_hash, "correct horse")
        assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
        assert stored.name == "login"
        assert stored.expires_at == clock.now() + timedelta(hours=12)
        assert stored.revoked_at is None
    clock.advance(timedelta(hours=12))
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", "correct horse"), ("nopass", ""), ("nopass", "correct horse"),
     ("disabled", "correct horse")],
)
def test_login_refused(client, ordo, database, username, password):
    with ordo.transaction() as uow:
        add_user(uow, username="alice", roles=["customer_service"], password="correct horse")
        add_user(uow, username="nopass", roles=["customer_service"])
        add_user(uow, username="disabled", roles=["customer_service"], password="correct horse")
        set_active(uow, username="disabled", active=False)
    before = database.row_counts()
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert_problem(r, 401, "unauthenticated", BAD_CREDENTIALS)
    assert database.row_counts() == before


def test_login_refusal_in_chinese(client):
    r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}, headers={"Accept-Language": "zh"})
    assert_problem(r, 401, "unauthenticated", "用户名或密码错误。")


def test_logout_revokes_the_token_used(client, ordo, clock):
    token = user_token(ordo, "bob", ["supervisor"])
    other = user_token(ordo, "carol", ["supervisor"])
    r = client.delete("/api/v1/auth/token", headers=bearer(token))
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(other)).status_code == 200
    with ordo.reading() as uow:
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = uow.session.scalars(select(ApiToken).where(ApiToken.digest == digest)).one()
        assert row.revoked_at == clock.now()


def test_only_digests_of_tokens_are_stored(client, ordo, database):
    token = user_token(ordo, "dave", ["finance"])
    with database.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM api_tokens").all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]


# --- user administration over HTTP ---------------------------------------------------------------


def test_admin_creates_a_user_who_can_then_log_in(client, admin, ordo):
    body = {"username": "erin", "roles": ["warehouse"], "password": "s3cret-pass", "warehouses": ["WH-BJ"]}
    r = client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert {k: v for k, v in r.json().items() if k != "created_at"} == {
        "username": "erin", "display_name": "erin", "roles": ["warehouse"], "shops": [], "warehouses": ["WH-BJ"],
        "active": True,
    }
    assert [u["username"] for u in client.get("/api/v1/users", headers=admin).json()] == ["erin", "root"]
    login = client.post("/api/v1/auth/token", json={"username": "erin", "password": "s3cret-pass"})
    assert login.status_code == 200
    again = client.post("/api/v1/users", json=body, headers=admin)
    assert_problem(again, 409, "conflict", 'user "erin" already exists.')


def test_a_write_whose_commit_fails_is_not_answered_as_done(app, admin, ordo, database):
    """The routes that take their transaction as a dependency commit before the answer is sent."""

    def refuse(session: Session) -> None:
        raise RuntimeError("the disk is full")

    body = {"username": "erin", "roles": ["warehouse"], "password": "s3cret-pass"}
    event.listen(Session, "before_commit", refuse)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.post("/api/v1/users", json=body, headers=admin)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert r.status_code == 500, r.text
    with ordo.reading() as uow:
        assert uow.session.scalar(select(User).where(User.username == "erin")) is None


def test_user_admin_is_for_the_admin_only(client, ordo, database):
    headers = bearer(user_token(ordo, "sam", ["supervisor", "customer_service"]))
    before = database.row_counts()
    r = client.post("/api/v1/users", json={"username": "eve", "roles": ["admin"]}, headers=headers)
    assert_problem(r, 403, "forbidden", 'Your roles (customer_service, supervisor) may not "user.admin".')
    assert_problem(client.get("/api/v1/users", headers=headers), 403, "forbidden",
                   'Your roles (customer_service, supervisor) may not "user.admin".')
    assert_problem(client.post("/api/v1/users/sam/disable", headers=headers), 403, "forbidden",
                   'Your roles (customer_service, supervisor) may not "user.admin".')
    assert database.row_counts() == before


def test_bad_user_is_refused_field_by_field(client, admin, database):
    before = database.row_counts()
    r = client.post("/api/v1/users", headers=admin, json={
        "username": "frank", "roles": ["customer_service"], "password": "short", "shops": ["tmall", "nowhere"],
        "warehouses": ["WH-XX"],
    })
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "password", "code": "too_short", "message": "password must have at least 8 characters."},
        {"field": "shops[0]", "code": "scope_shop_unknown", "message": 'shops[0]: unknown shop "nowhere".'},
        {"field": "warehouses[0]", "code": "scope_warehouse_unknown",
         "message": 'warehouses[0]: unknown warehouse "WH-XX".'},
    ]
    unknown_role = client.post("/api/v1/users", headers=admin, json={"username": "g", "roles": ["janitor"]})
    assert unknown_role.status_code == 422
    assert [(e["field"], e["code"]) for e in unknown_role.json()["errors"]] == [("roles[0]", "one_of")]
    no_role = client.post("/api/v1/users", headers=admin, json={"username": "g", "roles": []})
    assert no_role.status_code == 422
    assert database.row_counts() == before


def test_disabling_a_user_revokes_their_tokens(client, admin, ordo):
    token = user_token(ordo, "gina", ["finance"])
    r = client.post("/api/v1/users/gina/disable", headers=admin)
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/users/gina/enable", headers=admin).json()["active"] is True
    # Enabling does not bring the old token back.
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    with ordo.transaction() as uow:
        new = create_token(uow, username="gina")
    assert client.get("/api/v1/auth/me", headers=bearer(new)).status_code == 200
    assert_problem(client.post("/api/v1/users/nobody/disable", headers=admin), 404, "not_found",
                   "user nobody not found.")


# --- roles: each may perform only its own order actions ------------------------------------------

ALL_ROLES = ("customer_service", "reviewer", "warehouse", "logistics", "finance", "supervisor", "admin")
REVIEWERS = {"customer_service", "reviewer", "admin"}
WAREHOUSE = {"warehouse", "admin"}
LOGISTICS = {"logistics", "admin"}

# action: (roles allowed, permission named in the refusal). Written out, not derived from ROLE_PERMISSIONS.
MATRIX: dict[str, tuple[set[str], str]] = {
    "pay": ({"finance", "admin"}, "order.pay"),
    "confirm": (REVIEWERS, "order.review"),
    "reject": (REVIEWERS, "order.review"),
    "allocate": (WAREHOUSE, "order.allocate"),
    "hold": (REVIEWERS, "order.hold"),
    "release": (REVIEWERS, "order.hold"),
    "cancel": (REVIEWERS, "order.cancel"),
    "close": (REVIEWERS, "order.cancel"),
    "pick": (WAREHOUSE, "shipment.pick"),
    "finish-pick": (WAREHOUSE, "shipment.pick"),
    "check": (WAREHOUSE, "shipment.check"),
    "pack": (WAREHOUSE, "shipment.pack"),
    "hand-over": (WAREHOUSE, "shipment.hand_over"),
    "ship": (LOGISTICS, "shipment.ship"),
    "out-for-delivery": (LOGISTICS, "shipment.deliver"),
    "deliver": (LOGISTICS, "shipment.deliver"),
    "complete": ({"customer_service", "admin"}, "order.complete"),
    "wait": (REVIEWERS, "order.hold"),
    "substitute": (REVIEWERS, "order.hold"),
}

UNPAID = {"payment": {"method": "alipay", "status": "unpaid", "amount_paid": "0"}}
COD = {"payment": {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}}
BACKORDER = {"lines": [{"sku": "TEA-001", "quantity": 150, "unit_price": "25.00"}], "total": "3755.00",
             "payment": {"method": "alipay", "status": "paid", "amount_paid": "3755.00"}}
SHIP = {"carrier": "YTO Economy"}  # the booked carrier by its name; its number, one per parcel, as booked
WALK = ["pick", "finish-pick", "check", "pack", "hand-over", "ship", "deliver", "complete"]


def before_walk(action: str) -> list[str]:
    return WALK[: WALK.index(action)]


# action: (payload changes, admin steps before it, request body, order status after, shipment status after)
SCENARIOS: dict[str, tuple[dict[str, Any], list[str], dict[str, Any], str, str | None]] = {
    "pay": (UNPAID, [], {"reference": "ALI-1"}, "allocated", "allocated"),
    "confirm": (COD, [], {}, "allocated", "allocated"),
    "reject": (COD, [], {"reason": "fake address"}, "cancelled", None),
    "allocate": (BACKORDER, [], {}, "allocated", "allocated"),
    "hold": ({}, [], {"hold_reason": "awaiting_customer"}, "on_hold", "allocated"),
    "release": ({}, ["hold"], {"hold_reason": "awaiting_customer"}, "allocated", "allocated"),
    "cancel": ({}, [], {"reason": "customer asked"}, "cancelled", "cancelled"),
    "close": (UNPAID, [], {"reason": "never paid"}, "closed", None),
    "pick": ({}, [], {}, "in_fulfillment", "picking"),
    "finish-pick": ({}, before_walk("finish-pick"), {}, "in_fulfillment", "picked"),
    "check": ({}, before_walk("check"), {}, "in_fulfillment", "checked"),
    "pack": ({}, before_walk("pack"), {}, "in_fulfillment", "packed"),
    "hand-over": ({}, before_walk("hand-over"), {}, "in_fulfillment", "handed_over"),
    "ship": ({}, before_walk("ship"), SHIP, "shipped", "in_transit"),
    "out-for-delivery": ({}, before_walk("deliver"), {}, "shipped", "out_for_delivery"),
    "deliver": ({}, before_walk("deliver"), {}, "delivered", "delivered"),
    "complete": ({}, before_walk("complete"), {}, "completed", "delivered"),
    "wait": (BACKORDER, [], {"note": "the customer waits"}, "backordered", None),
    "substitute": (BACKORDER, [], {"line_no": 1, "sku": "MUG-002"}, "backordered", None),
}
BODIES = {"hold": {"hold_reason": "awaiting_customer"}, "ship": SHIP}


def test_matrix_covers_every_action_and_role():
    assert set(MATRIX) == {a.value for a in OrderAction} == set(SCENARIOS)
    assert set(ALL_ROLES) == {r.value for r in Role}
    assert all(roles <= set(ALL_ROLES) and "admin" in roles for roles, _ in MATRIX.values())


@pytest.fixture
def staff(ordo) -> dict[str, dict[str, str]]:
    return {role: bearer(user_token(ordo, f"{role}-user", [role])) for role in ALL_ROLES}


_external_ids = count(1)


def order_ready_for(client: TestClient, ordo: Any, admin: dict[str, str], action: str) -> str:
    changes, steps, _, _, _ = SCENARIOS[action]
    r = client.post("/api/v1/orders", json=order_payload(external_id=f"M-{next(_external_ids)}", **changes),
                    headers=admin)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    if action in ("allocate", "wait", "substitute"):
        assert r.json()["status"] == "backordered"
    prepare_packing(ordo, number)  # what the pack guard asks for; harmless for the other actions
    if action == "allocate":
        with ordo.transaction() as uow:
            sku = uow.session.scalar(select(Sku.id).where(Sku.code == "TEA-001"))
            wh = uow.session.scalar(select(Warehouse.id).where(Warehouse.code == "WH-SH"))
            receive(uow.session, warehouse_id=wh, sku_id=sku, quantity=150, actor="test", at=uow.clock.now())
    for step in steps:
        scan_before(ordo, number, step)
        done = client.post(f"/api/v1/orders/{number}/{step}", json=BODIES.get(step, {}), headers=admin)
        assert done.status_code == 200, (step, done.text)
    scan_before(ordo, number, action)  # finish-pick and check need every unit scanned first
    return number


@pytest.mark.parametrize("action", list(MATRIX))
def test_role_may_perform_only_its_own_actions(client, ordo, database, admin, staff, action):
    allowed, permission = MATRIX[action]
    _, _, body, status_after, shipment_after = SCENARIOS[action]
    for role in sorted(allowed):
        number = order_ready_for(client, ordo, admin, action)
        r = client.post(f"/api/v1/orders/{number}/{action}", json=body, headers=staff[role])
        assert r.status_code == 200, (role, r.text)
        assert r.json()["status"] == status_after, role
        assert [s["status"] for s in r.json()["shipments"]] == ([shipment_after] if shipment_after else []), role
        assert r.json()["events"][-1]["actor"] in (f"{role}-user", "system")
    number = order_ready_for(client, ordo, admin, action)
    before = client.get(f"/api/v1/orders/{number}", headers=admin).json()
    rows = database.row_counts()
    for role in sorted(set(ALL_ROLES) - allowed):
        r = client.post(f"/api/v1/orders/{number}/{action}", json=body, headers=staff[role])
        assert_problem(r, 403, "forbidden", f'Your roles ({role}) may not "{permission}".')
    assert client.get(f"/api/v1/orders/{number}", headers=admin).json() == before
    assert database.row_counts() == rows


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_orders(client, admin, staff, role):
    number = client.post("/api/v1/orders", json=order_payload(), headers=admin).json()["number"]
    assert client.get(f"/api/v1/orders/{number}", headers=staff[role]).status_code == 200
    assert [o["number"] for o in client.get("/api/v1/orders", headers=staff[role]).json()["items"]] == [number]


@pytest.mark.parametrize(("role", "allowed"), [(r, r in ("customer_service", "admin")) for r in ALL_ROLES])
def test_only_customer_service_and_admin_create_orders(client, database, staff, role, allowed):
    rows = database.row_counts()
    r = client.post("/api/v1/orders", json=order_payload(), headers=staff[role])
    if allowed:
        assert r.status_code == 201, r.text
        assert r.json()["events"][0]["actor"] == f"{role}-user"
    else:
        assert_problem(r, 403, "forbidden", f'Your roles ({role}) may not "order.create".')
        assert database.row_counts() == rows


def test_roles_add_up(client, ordo, admin):
    number = client.post("/api/v1/orders", json=order_payload(**UNPAID), headers=admin).json()["number"]
    both = bearer(user_token(ordo, "multi", ["finance", "warehouse"]))
    assert client.post(f"/api/v1/orders/{number}/pay", json={}, headers=both).status_code == 200
    assert client.post(f"/api/v1/orders/{number}/pick", json={}, headers=both).status_code == 200
    r = client.post(f"/api/v1/orders/{number}/ship", json=SHIP, headers=both)
    assert_problem(r, 403, "forbidden", 'Your roles (finance, warehouse) may not "shipment.ship".')


# --- scope: shops and warehouses ----------------------------------------------------------------


def fresh_cold_chain_order(**changes: Any) -> dict[str, Any]:
    return order_payload(
        lines=[{"sku": "LYC-003", "quantity": 1, "unit_price": "88.00"}], service_type="cold_chain",
        order_class="fresh", total="93.00", payment={"method": "alipay", "status": "paid", "amount_paid": "93.00"},
        **changes,
    )


@pytest.fixture
def orders(client, admin) -> dict[str, str]:
    """web-cn order allocated to WH-SH, tmall order allocated to WH-SH, web-cn order allocated to WH-BJ."""
    made = {}
    for key, payload in [
        ("web-sh", order_payload(external_id="WEB-1")),
        ("tmall-sh", order_payload(shop="tmall", external_id="TM-1")),
        ("web-bj", fresh_cold_chain_order(external_id="WEB-2")),
    ]:
        r = client.post("/api/v1/orders", json=payload, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "allocated"
        made[key] = r.json()["number"]
    assert client.get(f"/api/v1/orders/{made['web-bj']}", headers=admin).json()["shipments"][0]["warehouse"] == "WH-BJ"
    return made


def listed(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    r = client.get("/api/v1/orders", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [o["number"] for o in r.json()["items"]]


def test_shop_scoped_user_sees_and_acts_only_on_its_shop(client, ordo, database, admin, orders):
    tina = bearer(user_token(ordo, "tina", ["customer_service"], shops=["tmall"]))
    web, tmall = orders["web-sh"], orders["tmall-sh"]
    assert_problem(client.get(f"/api/v1/orders/{web}", headers=tina), 404, "not_found", f"order {web} not found.")
    before = client.get(f"/api/v1/orders/{web}", headers=admin).json()
    rows = database.row_counts()
    for action, body in [("confirm", {}), ("hold", {"hold_reason": "awaiting_customer"}), ("cancel", {"reason": "x"}),
                         ("reject", {"reason": "x"}), ("complete", {})]:
        r = client.post(f"/api/v1/orders/{web}/{action}", json=body, headers=tina)
        assert_problem(r, 404, "not_found", f"order {web} not found.")
    assert client.get(f"/api/v1/orders/{web}", headers=admin).json() == before
    assert database.row_counts() == rows
    assert listed(client, tina) == [tmall]
    assert listed(client, tina, shop="web-cn") == []
    assert client.get(f"/api/v1/orders/{tmall}", headers=tina).status_code == 200
    held = client.post(f"/api/v1/orders/{tmall}/hold", json={"hold_reason": "awaiting_customer"}, headers=tina)
    assert held.status_code == 200
    assert held.json()["status"] == "on_hold"


def test_shop_scoped_user_cannot_create_orders_for_other_shops(client, ordo, database):
    tina = bearer(user_token(ordo, "tina", ["customer_service"], shops=["tmall"]))
    rows = database.row_counts()
    r = client.post("/api/v1/orders", json=order_payload(shop="web-cn"), headers=tina)
    assert_problem(r, 403, "forbidden", 'Your roles (customer_service) may not "create orders for web-cn".')
    assert database.row_counts() == rows
    ok = client.post("/api/v1/orders", json=order_payload(shop="tmall"), headers=tina)
    assert ok.status_code == 201, ok.text
    assert ok.json()["shop"] == "tmall"


def test_a_warehouse_scoped_clerk_creating_an_order_allocated_elsewhere_is_told_its_number(client, ordo, database):
    # Customer service scoped to Beijing; the tea is in Shanghai only, so the order is allocated there.
    lin = bearer(user_token(ordo, "lin", ["customer_service"], warehouses=["WH-BJ"]))
    r = client.post("/api/v1/orders", json=order_payload(external_id="WH-SCOPE-1"), headers=lin)
    assert r.status_code == 201, r.text
    assert (r.json()["number"], r.json()["status"]) == ("20260315001", "allocated")
    assert [s["warehouse"] for s in r.json()["shipments"]] == ["WH-SH"]
    assert database.row_counts()["orders"] == 1
    # Afterwards it is outside the clerk's scope like any order without a shipment in Beijing.
    assert_problem(client.get("/api/v1/orders/20260315001", headers=lin), 404, "not_found",
                   "order 20260315001 not found.")


def test_warehouse_scoped_user_sees_only_orders_with_its_shipments(client, ordo, database, admin, orders):
    wang = bearer(user_token(ordo, "wang", ["warehouse"], warehouses=["WH-BJ"]))
    sh, bj = orders["web-sh"], orders["web-bj"]
    assert listed(client, wang) == [bj]
    assert_problem(client.get(f"/api/v1/orders/{sh}", headers=wang), 404, "not_found", f"order {sh} not found.")
    rows = database.row_counts()
    assert_problem(client.post(f"/api/v1/orders/{sh}/pick", json={}, headers=wang), 404, "not_found",
                   f"order {sh} not found.")
    assert database.row_counts() == rows
    assert client.get(f"/api/v1/orders/{sh}", headers=admin).json()["shipments"][0]["status"] == "allocated"
    picked = client.post(f"/api/v1/orders/{bj}/pick", json={}, headers=wang)
    assert picked.status_code == 200, picked.text
    assert picked.json()["shipments"][0]["status"] == "picking"


def test_warehouse_scoped_user_does_not_see_unallocated_orders(client, ordo, admin):
    wang = bearer(user_token(ordo, "wang", ["warehouse"], warehouses=["WH-BJ"]))
    number = client.post("/api/v1/orders", json=order_payload(**UNPAID), headers=admin).json()["number"]
    assert listed(client, wang) == []
    assert client.get(f"/api/v1/orders/{number}", headers=wang).status_code == 404


def test_both_scopes_must_match(client, ordo, orders):
    both = bearer(user_token(ordo, "li", ["warehouse"], shops=["tmall"], warehouses=["WH-SH"]))
    assert listed(client, both) == [orders["tmall-sh"]]
    assert client.get(f"/api/v1/orders/{orders['web-sh']}", headers=both).status_code == 404


def test_empty_scope_sees_everything(client, ordo, orders):
    for name, role in [("all-cs", "customer_service"), ("all-wh", "warehouse"), ("all-sup", "supervisor")]:
        headers = bearer(user_token(ordo, name, [role]))
        assert listed(client, headers) == sorted(orders.values(), reverse=True)
        for number in orders.values():
            assert client.get(f"/api/v1/orders/{number}", headers=headers).status_code == 200
    unscoped_wh = bearer(user_token(ordo, "any-wh", ["warehouse"]))
    assert client.post(f"/api/v1/orders/{orders['web-sh']}/pick", json={}, headers=unscoped_wh).status_code == 200


def test_scoped_list_pages_are_complete(client, ordo, admin):
    tina = bearer(user_token(ordo, "tina", ["customer_service"], shops=["tmall"]))
    tmall = []
    for i in range(5):
        for shop in ("web-cn", "tmall"):
            r = client.post("/api/v1/orders", json=order_payload(shop=shop, external_id=f"P-{shop}-{i}"), headers=admin)
            if shop == "tmall":
                tmall.append(r.json()["number"])
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/orders", headers=tina, params=params).json()
        seen += [o["number"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(tmall, reverse=True)
    with ordo.reading() as uow:
        assert uow.session.query(Order).count() == 10
