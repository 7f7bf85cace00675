"""The `ordo` command end to end: users, tokens (which then work against the API) and orders."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from ordo.auth.tables import ApiToken, User
from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common, main, orders, users
from ordo.order.tables import Order
from tests.factories import order_payload, seed

Run = Callable[..., Result]


@pytest.fixture
def run(ordo, monkeypatch) -> Run:
    """Invoke `ordo …` against the test's database (SQLite or PostgreSQL)."""
    seed(ordo)
    for module in (common, main, orders, users):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        # Wide enough that Rich does not wrap table cells; messages in English whatever LANG says.
        return runner.invoke(main.app, list(args), input=input, env={"COLUMNS": "200", "ORDO_LOCALE": "en"})

    return invoke


@pytest.fixture
def api(ordo):
    with TestClient(create_app(ordo)) as client:
        yield client


def flat(text: str) -> str:
    """Rich wraps long lines (in error boxes too); compare text with box edges and runs of white space made
    single spaces."""
    return " ".join(text.replace("│", " ").split())


def table_rows(text: str) -> list[list[str]]:
    """The cells of a Rich table, one list per row (header included, rules left out)."""
    rows = []
    for line in text.splitlines():
        if line.startswith(("│", "┃")):
            rows.append([cell.strip() for cell in line.strip("│┃").replace("┃", "│").split("│")])
    return rows


def token_of(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def user_row(ordo: Any, username: str) -> User:
    with ordo.reading() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one()
        uow.session.expunge(user)
        return user


def tokens_of(ordo: Any, username: str) -> list[ApiToken]:
    with ordo.reading() as uow:
        rows = list(uow.session.scalars(
            select(ApiToken).join(User, User.id == ApiToken.user_id).where(User.username == username)
            .order_by(ApiToken.id)
        ))
        uow.session.expunge_all()
        return rows


def me(api: TestClient, token: str) -> Any:
    return api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


# --- users and tokens ---------------------------------------------------------------------------


def test_user_added_on_the_command_line_gets_a_token_that_works(run, api, ordo, clock):
    added = run("users", "add", "alice", "--role", "customer_service", "--role", "reviewer", "--shop", "tmall",
                "--password", "correct horse", "--name", "Alice Li")
    assert added.exit_code == 0, added.output
    assert added.stdout == "user alice added\n"
    user = user_row(ordo, "alice")
    assert (user.display_name, user.roles, user.shops, user.warehouses, user.active) == (
        "Alice Li", ["customer_service", "reviewer"], ["tmall"], [], True
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash

    token = token_of(run("tokens", "create", "alice"))
    assert token.startswith("ordo_")
    [stored] = tokens_of(ordo, "alice")
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert (stored.name, stored.expires_at, stored.revoked_at) == ("cli", None, None)
    r = me(api, token)
    assert r.status_code == 200
    assert r.json() == {"username": "alice", "roles": ["customer_service", "reviewer"], "shops": ["tmall"],
                        "warehouses": []}
    login = api.post("/api/v1/auth/token", json={"username": "alice", "password": "correct horse"})
    assert login.status_code == 200
    assert me(api, login.json()["token"]).status_code == 200


def test_token_with_an_expiry(run, api, ordo, clock):
    run("users", "add", "bob", "--role", "warehouse", "--warehouse", "WH-SH")
    token = token_of(run("tokens", "create", "bob", "--name", "scanner", "--days", "7"))
    [stored] = tokens_of(ordo, "bob")
    assert (stored.name, stored.expires_at) == ("scanner", clock.now() + timedelta(days=7))
    assert me(api, token).json()["warehouses"] == ["WH-SH"]
    clock.advance(timedelta(days=7))
    assert me(api, token).status_code == 401
    zero = run("tokens", "create", "bob", "--days", "0")
    assert zero.exit_code == 2
    assert len(tokens_of(ordo, "bob")) == 1


def test_unknown_role_is_bad_input(run, ordo, database):
    before = database.row_counts()
    r = run("users", "add", "carol", "--role", "janitor")
    assert r.exit_code == 2
    assert (
        "Invalid value for '--role': Value error, 'janitor' is not one of 'customer_service', 'reviewer', "
        "'warehouse', 'logistics', 'finance', 'supervisor', 'admin'." in flat(r.stderr)
    )
    missing = run("users", "add", "carol")
    assert missing.exit_code == 2
    assert "Missing option '--role'" in flat(missing.output)
    assert database.row_counts() == before


def test_duplicate_user_is_refused(run, ordo):
    assert run("users", "add", "dave", "--role", "finance").exit_code == 0
    r = run("users", "add", "dave", "--role", "admin")
    assert r.exit_code == 1
    assert r.stderr == 'error: user "dave" already exists.\n'
    assert user_row(ordo, "dave").roles == ["finance"]


def test_bad_scope_and_password_are_reported_field_by_field(run, ordo, database):
    before = database.row_counts()
    r = run("users", "add", "erin", "--role", "warehouse", "--warehouse", "WH-XX", "--shop", "nowhere",
            "--password", "short")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: The request has invalid fields.",
        "  password must have at least 8 characters.",
        '  shops[0]: unknown shop "nowhere".',
        '  warehouses[0]: unknown warehouse "WH-XX".',
    ]
    assert database.row_counts() == before


def test_token_for_an_unknown_user(run, database):
    before = database.row_counts()
    r = run("tokens", "create", "nobody")
    assert r.exit_code == 1
    assert r.stderr == "error: user nobody not found.\n"
    assert database.row_counts() == before


def test_revoke_tokens(run, api, ordo, clock):
    run("users", "add", "fay", "--role", "supervisor")
    first = token_of(run("tokens", "create", "fay", "--name", "laptop"))
    second = token_of(run("tokens", "create", "fay", "--name", "phone"))
    third = token_of(run("tokens", "create", "fay", "--name", "phone"))
    ids = [t.id for t in tokens_of(ordo, "fay")]

    listing = run("tokens", "list", "fay")
    assert listing.exit_code == 0
    assert [row[:2] for row in table_rows(listing.stdout)] == [
        ["id", "name"], [str(ids[0]), "laptop"], [str(ids[1]), "phone"], [str(ids[2]), "phone"],
    ]

    by_id = run("tokens", "revoke", "fay", "--id", str(ids[1]))
    assert (by_id.exit_code, by_id.stdout) == (0, "revoked 1 token of fay\n")
    assert [me(api, t).status_code for t in (first, second, third)] == [200, 401, 200]
    assert [t.revoked_at for t in tokens_of(ordo, "fay")] == [None, clock.now(), None]

    clock.advance(timedelta(minutes=5))
    rest = run("tokens", "revoke", "fay")
    assert (rest.exit_code, rest.stdout) == (0, "revoked 2 tokens of fay\n")
    assert [me(api, t).status_code for t in (first, second, third)] == [401, 401, 401]
    later = clock.now()
    assert [t.revoked_at for t in tokens_of(ordo, "fay")] == [later, later - timedelta(minutes=5), later]

    none_left = run("tokens", "revoke", "fay", "--name", "phone")
    assert none_left.exit_code == 1
    assert none_left.stderr == 'error: active token "phone" of fay not found.\n'
    unknown = run("tokens", "revoke", "ghost")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: user ghost not found.\n")


def test_disable_and_enable_a_user(run, api, ordo):
    run("users", "add", "gus", "--role", "logistics", "--password", "correct horse")
    token = token_of(run("tokens", "create", "gus"))
    disabled = run("users", "disable", "gus")
    assert (disabled.exit_code, disabled.stdout) == (0, "user gus disabled; its tokens are revoked\n")
    assert user_row(ordo, "gus").active is False
    assert me(api, token).status_code == 401
    assert api.post("/api/v1/auth/token", json={"username": "gus", "password": "correct horse"}).status_code == 401
    refused = run("tokens", "create", "gus")
    assert (refused.exit_code, refused.stderr) == (1, 'error: User "gus" is disabled.\n')
    listing = run("users", "list")
    assert table_rows(listing.stdout)[1:] == [["gus", "gus", "logistics", "all", "all", "no"]]

    assert run("users", "enable", "gus").exit_code == 0
    assert me(api, token).status_code == 401  # old tokens stay revoked
    assert me(api, token_of(run("tokens", "create", "gus"))).status_code == 200
    assert run("users", "disable", "nobody").exit_code == 1


def test_set_password_asks_twice(run, api, ordo):
    run("users", "add", "hal", "--role", "finance")
    r = run("users", "password", "hal", input="new password 1\nnew password 1\n")
    assert r.exit_code == 0, r.output
    assert "password of hal set" in r.stdout
    assert user_row(ordo, "hal").password_hash.startswith("$argon2id$")
    assert api.post("/api/v1/auth/token", json={"username": "hal", "password": "new password 1"}).status_code == 200
    short = run("users", "password", "hal", "--password", "abc")
    assert short.exit_code == 2
    assert "  password must have at least 8 characters." in short.stderr.splitlines()


# --- orders -------------------------------------------------------------------------------------


def write(tmp_path: Path, payload: dict[str, Any], name: str = "order.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_create_an_order_from_a_file(run, ordo, tmp_path):
    path = write(tmp_path, order_payload())
    r = run("orders", "create", path)
    assert r.exit_code == 0, r.output
    assert r.stdout == "created: 20260315001 (allocated)\n"
    again = run("orders", "create", path)
    assert (again.exit_code, again.stdout) == (0, "already exists: 20260315001 (allocated)\n")
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Order.number)).all() == ["20260315001"]


def test_invalid_order_file_lists_every_problem(run, ordo, database, tmp_path):
    before = database.row_counts()
    payload = order_payload(lines=[{"sku": "NOPE-1", "quantity": 0, "unit_price": "25.00"}])
    payload["customer"]["phone"] = "1381234567"
    r = run("orders", "create", write(tmp_path, payload))
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert lines[0] == "error: The request has invalid fields."
    assert '  customer.phone: a Chinese mobile number has 11 digits, "1381234567" has 10.' in lines
    assert '  lines[0].sku: unknown SKU "NOPE-1".' in lines
    assert "  lines[0].quantity: quantity must be a positive whole number, got 0." in lines
    assert database.row_counts() == before


def test_order_file_of_the_wrong_shape(run, database, tmp_path):
    before = database.row_counts()
    r = run("orders", "create", write(tmp_path, order_payload(total="lots", lines="none")))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "error: The request has invalid fields."
    assert set(lines[1:]) == {"  lines must be a list.", "  total must be a decimal number."}
    missing = run("orders", "create", str(tmp_path / "missing.json"))
    assert missing.exit_code == 2
    assert "missing.json: no such file" in flat(missing.stderr)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    broken = run("orders", "create", str(tmp_path / "broken.json"))
    assert broken.exit_code == 2
    assert "broken.json: not valid JSON" in flat(broken.stderr)
    assert database.row_counts() == before


def test_create_for_a_shop_out_of_scope(run, database, tmp_path):
    run("users", "add", "tina", "--role", "customer_service", "--shop", "tmall")
    before = database.row_counts()
    r = run("orders", "create", write(tmp_path, order_payload()), "--as", "tina")
    assert r.exit_code == 1
    assert r.stderr == 'error: Your roles (customer_service) may not "create orders for web-cn".\n'
    assert database.row_counts() == before
    ok = run("orders", "create", write(tmp_path, order_payload(shop="tmall")), "--as", "tina")
    assert ok.exit_code == 0, ok.output


def test_list_and_show_orders(run, tmp_path):
    run("orders", "create", write(tmp_path, order_payload()))
    run("orders", "create", write(tmp_path, order_payload(shop="tmall", external_id="TM-9")))
    run("users", "add", "tina", "--role", "customer_service", "--shop", "tmall")

    everything = run("orders", "list")
    assert everything.exit_code == 0, everything.output
    assert [row[:4] for row in table_rows(everything.stdout)] == [
        ["number", "shop", "status", "payment"],
        ["20260315002", "tmall", "allocated", "paid"],
        ["20260315001", "web-cn", "allocated", "paid"],
    ]
    scoped = run("orders", "list", "--as", "tina")
    assert "20260315002" in scoped.stdout
    assert "20260315001" not in scoped.stdout
    filtered = run("orders", "list", "--shop", "web-cn")
    assert "20260315001" in filtered.stdout
    assert "20260315002" not in filtered.stdout

    shown = run("orders", "show", "20260315001")
    assert shown.exit_code == 0, shown.output
    text = flat(shown.stdout)
    assert text.startswith("20260315001 allocated payment paid shipping not_shipped")
    assert "web-cn / WEB-1001" in text
    assert "total 55.00 CNY = goods 50.00 + shipping 10.00 - discounts 5.00" in text
    rows = table_rows(shown.stdout)
    assert ["20260315001-1", "WH-SH", "allocated", "", "", "TEA-001×2"] in rows
    assert [row[1:5] for row in rows if row[0] == "2026-03-15 02:00:00"] == [
        ["system", "order.created", "", "pending_review"],
        ["system", "order.confirm", "pending_review", "confirmed"],
        ["system", "shipment.created", "", "allocated"],
        ["system", "order.allocate", "confirmed", "allocated"],
    ]
    assert shown.stdout.splitlines()[-1].startswith("allowed actions: ")

    hidden = run("orders", "show", "20260315001", "--as", "tina")
    assert (hidden.exit_code, hidden.stderr) == (1, "error: order 20260315001 not found.\n")
    unknown = run("orders", "show", "20991231001")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: order 20991231001 not found.\n")


def test_act_on_an_order_as_a_user(run, api, database, tmp_path):
    run("orders", "create", write(tmp_path, order_payload()))
    run("users", "add", "wang", "--role", "warehouse", "--warehouse", "WH-SH")
    run("users", "add", "fiona", "--role", "finance")

    before = database.row_counts()
    refused = run("orders", "act", "20260315001", "pick", "--as", "fiona")
    assert refused.exit_code == 1
    assert refused.stderr == 'error: Your roles (finance) may not "shipment.pick".\n'
    assert database.row_counts() == before

    picked = run("orders", "act", "20260315001", "pick", "--as", "wang")
    assert picked.exit_code == 0, picked.output
    assert picked.stdout == "20260315001: pick → in_fulfillment\n"
    token = token_of(run("tokens", "create", "wang"))
    detail = api.get("/api/v1/orders/20260315001", headers={"Authorization": f"Bearer {token}"}).json()
    assert detail["shipments"][0]["status"] == "picking"
    assert [(e["actor"], e["name"]) for e in detail["events"][-2:]] == [
        ("wang", "shipment.start_pick"), ("wang", "order.start_fulfillment"),
    ]

    illegal = run("orders", "act", "20260315001", "pick", "--as", "wang")
    assert illegal.exit_code == 1
    assert illegal.stderr.startswith('error: order is in_fulfillment; "shipment start_pick" is not allowed.')
    # Carrier and tracking number default to the booking made at hand-over, so a ship without them is
    # judged on the shipment's state: still picking, nothing to ship.
    too_early = run("orders", "act", "20260315001", "ship")
    assert too_early.exit_code == 1
    assert too_early.stderr.startswith('error: order is in_fulfillment; "shipment ship" is not allowed.')
    ghost = run("orders", "act", "20260315001", "pack", "--as", "ghost")
    assert (ghost.exit_code, ghost.stderr) == (2, "error: user ghost not found.\n")
    bad_action = run("orders", "act", "20260315001", "teleport")
    assert bad_action.exit_code == 2
    assert "Invalid value for 'action': Value error, 'teleport' is not one of 'pay', 'confirm'," in flat(
        bad_action.stderr
    )


def test_act_out_of_scope_is_not_found(run, ordo, database, tmp_path):
    run("orders", "create", write(tmp_path, order_payload()))
    run("users", "add", "bei", "--role", "warehouse", "--warehouse", "WH-BJ")
    before = database.row_counts()
    r = run("orders", "act", "20260315001", "pick", "--as", "bei")
    assert (r.exit_code, r.stderr) == (1, "error: order 20260315001 not found.\n")
    assert database.row_counts() == before


def test_messages_follow_the_locale(run):
    assert run("users", "add", "ivy", "--role", "finance").exit_code == 0
    runner = CliRunner()
    r = runner.invoke(main.app, ["users", "add", "ivy", "--role", "finance"], env={"ORDO_LOCALE": "zh-CN"})
    assert (r.exit_code, r.stderr) == (1, "error: user“ivy”已存在。\n")
