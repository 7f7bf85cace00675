"""Intake guarantees on both databases: idempotency, nothing written for a rejected request, errors
in the caller's language, order numbers, and what intake, cancel and shipping do to stock."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common
from ordo.entrypoints.cli.main import app as cli
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Reservation, Stock, StockMovement, Warehouse
from ordo.kernel.errors import ValidationFailed
from ordo.order import handlers
from ordo.order.handlers import intake, submit_order, validated_ahead
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order
from ordo.policy import IntakePolicy, Policy
from ordo.settings import Settings
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token

ORDERS = "/api/v1/orders"
PROBLEM = "application/problem+json"


# --- helpers ------------------------------------------------------------------------------------


def tea(quantity: int, **changes: Any) -> dict[str, Any]:
    """A paid order for ``quantity`` TEA-001 at 25.00, shipping 10.00, discount 5.00."""
    total = f"{25 * quantity + 5}.00"
    return order_payload(
        lines=[{"sku": "TEA-001", "quantity": quantity, "unit_price": "25.00"}],
        total=total,
        payment={"method": "alipay", "status": "paid", "amount_paid": total},
        **changes,
    )


def submit(ordo, payload: dict[str, Any]) -> tuple[str, bool]:
    return intake(ordo, submission=OrderSubmission.model_validate(payload), actor=Actor.system())


def status_of(ordo, number: str) -> str:
    with ordo.reading() as uow:
        return uow.session.scalars(select(Order.status).where(Order.number == number)).one()


def stock(ordo, warehouse: str, sku: str) -> tuple[int, int]:
    with ordo.reading() as uow:
        row = uow.session.execute(
            select(Stock.on_hand, Stock.reserved)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id)
            .join(Sku, Sku.id == Stock.sku_id)
            .where(Warehouse.code == warehouse, Sku.code == sku)
        ).one()
        return row.on_hand, row.reserved


def ledger(ordo, warehouse: str, sku: str) -> list[tuple[str, int, int, str | None]]:
    """Stock movements after the initial receipts: (kind, Δ on hand, Δ reserved, reference)."""
    with ordo.reading() as uow:
        rows = uow.session.execute(
            select(StockMovement.kind, StockMovement.delta_on_hand, StockMovement.delta_reserved,
                   StockMovement.reference)
            .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
            .join(Sku, Sku.id == StockMovement.sku_id)
            .where(Warehouse.code == warehouse, Sku.code == sku, StockMovement.kind != "receipt")
            .order_by(StockMovement.id)
        ).all()
        return [tuple(r) for r in rows]


def reservations(ordo, number: str) -> list[tuple[str, str, int, str]]:
    with ordo.reading() as uow:
        rows = uow.session.execute(
            select(Warehouse.code, Sku.code, Reservation.quantity, Reservation.status)
            .join(Order, Order.id == Reservation.order_id)
            .join(Warehouse, Warehouse.id == Reservation.warehouse_id)
            .join(Sku, Sku.id == Reservation.sku_id)
            .where(Order.number == number)
            .order_by(Reservation.id)
        ).all()
        return [tuple(r) for r in rows]


def events(database) -> list[tuple[Any, ...]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, order_id, entity, entity_id, name, from_state, to_state, actor, reason FROM events ORDER BY id"
        ))]


def counter(database, business_date: str) -> int | None:
    with database.engine.connect() as conn:
        return conn.execute(
            text("SELECT last_serial FROM order_number_counters WHERE business_date = :d"), {"d": business_date}
        ).scalar_one_or_none()


@pytest.fixture
def seeded(ordo):
    seed(ordo)
    return ordo


@pytest.fixture
def client(seeded):
    with TestClient(create_app(seeded)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(seeded, 'root', ['admin'])}"
        yield c


# --- idempotency --------------------------------------------------------------------------------


def test_same_payload_twice_gives_201_then_200_with_the_same_order(client, database):
    first = client.post(ORDERS, json=order_payload())
    assert first.status_code == 201, first.text
    assert first.json()["number"] == "20260315001"
    assert first.json()["status"] == "allocated"
    counts, log = database.row_counts(), events(database)
    assert counts["orders"] == 1

    second = client.post(ORDERS, json=order_payload())

    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert database.row_counts() == counts
    assert events(database) == log


def test_resubmitting_an_order_that_moved_on_returns_it_unchanged(client, database):
    number = client.post(ORDERS, json=order_payload()).json()["number"]
    assert client.post(f"{ORDERS}/{number}/cancel", json={"reason": "out of date"}).status_code == 200
    counts, log = database.row_counts(), events(database)

    again = client.post(ORDERS, json=order_payload())

    assert again.status_code == 200, again.text
    assert (again.json()["number"], again.json()["status"]) == (number, "cancelled")
    assert database.row_counts() == counts
    assert events(database) == log


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "25"}], "shipping_fee": "10",
                      "discounts": "5.0", "total": "55",
                      "payment": {"method": "alipay", "status": "paid", "amount_paid": "55.000"}}, id="amounts"),
        pytest.param({"customer": {"name": "张伟", "phone": "138 1234 5678", "email": "zhang.wei@example.cn"}},
                     id="phone-spaces"),
        pytest.param({"customer": {"name": " 张伟 ", "phone": "+86 138-1234-5678", "email": "zhang.wei@example.cn"}},
                     id="phone-e164-dashes"),
        pytest.param({"external_id": "  WEB-1001 ", "currency": "cny", "channel": "web"}, id="case-and-blanks"),
    ],
)
def test_same_order_with_cosmetic_differences_is_the_same_order(client, database, changes):
    first = client.post(ORDERS, json=order_payload())
    assert first.status_code == 201, first.text
    counts, log = database.row_counts(), events(database)

    again = client.post(ORDERS, json=order_payload(**changes))

    assert again.status_code == 200, again.text
    assert again.json()["number"] == "20260315001"
    assert database.row_counts() == counts
    assert events(database) == log


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"customer": {"name": "李娜", "phone": "13812345678", "email": "zhang.wei@example.cn"}}, "customer_name"),
        ({"address": {**order_payload()["address"], "street": "世纪大道200号"}}, "street"),
        ({"remark": "请尽快发货"}, "remark"),
        (tea(3, external_id="WEB-1001"), "amount_paid, goods_total, lines, total"),
    ],
    ids=["name", "street", "remark", "quantity"],
)
def test_different_payload_under_the_same_external_id_is_a_conflict(client, database, changes, fields):
    first = client.post(ORDERS, json=order_payload())
    assert first.status_code == 201, first.text
    counts, log = database.row_counts(), events(database)

    other = client.post(ORDERS, json={**order_payload(), **changes})

    assert other.status_code == 409, other.text
    assert other.headers["content-type"] == PROBLEM
    message = (
        'An order from shop "web-cn" with external id "WEB-1001" already exists (20260315001) '
        f"with different content: {fields}."
    )
    assert other.json() == {
        "type": "/problems/idempotency_conflict", "title": message, "status": 409, "code": "idempotency_conflict",
        "detail": message,
    }
    assert database.row_counts() == counts
    assert events(database) == log


def test_the_same_placed_at_written_in_another_offset_is_the_same_order(client, database):
    first = client.post(ORDERS, json=order_payload(placed_at="2026-03-15T09:30:00+08:00"))
    assert first.status_code == 201, first.text
    assert first.json()["placed_at"] == "2026-03-15T01:30:00Z"
    counts = database.row_counts()
    again = client.post(ORDERS, json=order_payload(placed_at="2026-03-15T01:30:00Z"))
    assert again.status_code == 200, again.text
    assert again.json()["number"] == "20260315001"
    assert database.row_counts() == counts


def test_placed_at_without_an_offset_is_a_field_error_not_a_server_error(seeded, database):
    with TestClient(create_app(seeded), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {user_token(seeded, 'root', ['admin'])}"
        before = database.row_counts()
        r = c.post(ORDERS, json=order_payload(placed_at="2026-03-15T09:30:00"))
        assert database.row_counts() == before
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert [e["field"] for e in r.json()["errors"]] == ["placed_at"]


def test_same_external_id_in_another_shop_is_another_order(client, database):
    assert client.post(ORDERS, json=order_payload()).status_code == 201
    other = client.post(ORDERS, json=order_payload(shop="tmall"))
    assert other.status_code == 201, other.text
    assert (other.json()["number"], other.json()["shop"], other.json()["external_id"]) == (
        "20260315002", "tmall", "WEB-1001")
    assert database.row_counts()["orders"] == 2


def test_idempotency_conflict_in_chinese(client):
    assert client.post(ORDERS, json=order_payload()).status_code == 201
    r = client.post(ORDERS, json=order_payload(remark="改地址"), headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 409
    assert r.json()["detail"] == "店铺“web-cn”外部单号“WEB-1001”的订单已存在（20260315001），但内容不同：remark。"


# --- rejected requests write nothing ------------------------------------------------------------

INVALID = [
    pytest.param(
        order_payload(external_id=None, customer={"name": "张伟", "phone": "12345"}),
        [("external_id", "required", "external_id is required."),
         ("customer.phone", "phone_cn_mobile_digits",
          'customer.phone: a Chinese mobile number has 11 digits, "12345" has 5.')],
        [("external_id", "required", "external_id 为必填项。"),
         ("customer.phone", "phone_cn_mobile_digits", "customer.phone：中国大陆手机号应为 11 位，“12345”为 5 位。")],
        id="required-and-phone",
    ),
    pytest.param(
        order_payload(total="60.00", payment={"method": "alipay", "status": "paid", "amount_paid": "60.00"}),
        [("total", "total_mismatch", "total: lines 50.00 + shipping 10.00 − discounts 5.00 = 55.00, not 60.00.")],
        [("total", "total_mismatch", "total：商品 50.00 + 运费 10.00 − 优惠 5.00 = 55.00，而不是 60.00。")],
        id="total",
    ),
    pytest.param(
        order_payload(lines=[{"sku": "NOPE-1", "quantity": 1, "unit_price": "1.00"},
                             {"sku": "FIREWORK-008", "quantity": 1, "unit_price": "30.00"}]),
        [("lines[0].sku", "sku_unknown", 'lines[0].sku: unknown SKU "NOPE-1".'),
         ("lines[1].sku", "sku_prohibited",
          'lines[1].sku: "FIREWORK-008" is prohibited goods (prohibited) and cannot be accepted.')],
        [("lines[0].sku", "sku_unknown", "lines[0].sku：未知 SKU“NOPE-1”。"),
         ("lines[1].sku", "sku_prohibited", "lines[1].sku：“FIREWORK-008”属于违禁品（违禁），不能受理。")],
        id="skus",
    ),
    pytest.param(
        order_payload(shop="nowhere", address={**order_payload()["address"], "street": "世纪大道"}),
        [("shop", "shop_unknown", 'shop: unknown shop "nowhere".'),
         ("address.street", "address_no_house_number",
          'address.street: "世纪大道" has no house number (required in China).')],
        [("shop", "shop_unknown", "shop：未知店铺“nowhere”。"),
         ("address.street", "address_no_house_number", "address.street：“世纪大道”缺少门牌号（中国境内地址必填）。")],
        id="shop-and-street",
    ),
]

# Rejected by the request model (pydantic) before any handler runs.
MALFORMED = [
    pytest.param(
        order_payload(lines=[{"sku": "TEA-001", "quantity": "two", "unit_price": "25.00"}]),
        [("lines[0].quantity", "invalid_type", "lines[0].quantity must be a whole number.")],
        [("lines[0].quantity", "invalid_type", "lines[0].quantity 必须是整数。")],
        id="quantity-type",
    ),
    pytest.param(
        order_payload(colour="red"),
        [("colour", "unknown_field", "colour is not a known field.")],
        [("colour", "unknown_field", "colour 不是可识别的字段。")],
        id="unknown-field",
    ),
]


def _problem(status: int, message: str, errors: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "type": "/problems/validation_failed", "title": message, "status": status, "code": "validation_failed",
        "detail": message, "errors": [{"field": f, "code": c, "message": m} for f, c, m in errors],
    }


@pytest.mark.parametrize(("payload", "english", "chinese"), INVALID + MALFORMED)
def test_rejected_order_over_http_writes_nothing_and_explains_every_field(client, database, payload, english,
                                                                          chinese):
    before = database.row_counts()

    en = client.post(ORDERS, json=payload, headers={"Accept-Language": "en"})
    zh = client.post(ORDERS, json=payload, headers={"Accept-Language": "zh-CN"})
    preferred = client.post(ORDERS, json=payload, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})

    for r in (en, zh, preferred):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
    assert en.json() == _problem(422, "The request has invalid fields.", english)
    assert zh.json() == _problem(422, "请求中有字段不合法。", chinese)
    assert preferred.json() == zh.json()
    assert database.row_counts() == before


@pytest.fixture
def run_cli(seeded, database, tmp_path, monkeypatch):
    """Run ``ordo …`` against the test database; the CLI builds (and caches) its own Ordo."""
    monkeypatch.setattr(common.errors, "_width", 1000)  # no wrapping of long messages
    monkeypatch.setattr(common.console, "_width", 1000)
    runner = CliRunner()

    def run(payload: dict[str, Any], locale: str = "en"):
        file = tmp_path / "order.json"
        file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        common.ordo.cache_clear()
        try:
            return runner.invoke(
                cli, ["orders", "create", str(file)],
                env={"ORDO_DATABASE_URL": database.url, "ORDO_LOCALE": locale},
            )
        finally:
            common.ordo().dispose()
            common.ordo.cache_clear()

    return run


def cli_lines(headline: str, errors: list[tuple[str, str, str]]) -> list[str]:
    """What the CLI prints: the headline, then each field message (naming its field once)."""
    return [f"error: {headline}"] + [
        f"  {message}" if message.startswith(field) else f"  {field}: {message}" for field, _, message in errors
    ]


@pytest.mark.parametrize(("payload", "english", "chinese"), INVALID + MALFORMED)
def test_rejected_order_from_the_cli_exits_2_writes_nothing_and_explains_every_field(run_cli, database, payload,
                                                                                    english, chinese):
    before = database.row_counts()

    en = run_cli(payload, "en")
    zh = run_cli(payload, "zh-CN")

    assert en.exit_code == 2, en.output
    assert en.stderr.splitlines() == cli_lines("The request has invalid fields.", english)
    assert en.stdout == ""
    assert zh.exit_code == 2, zh.output
    assert zh.stderr.splitlines() == cli_lines("请求中有字段不合法。", chinese)
    assert database.row_counts() == before


def test_valid_order_from_the_cli_is_created_once(run_cli, database):
    """The CLI wiring used above really reaches the database (its Ordo has the system clock)."""
    first = run_cli(order_payload())
    second = run_cli(order_payload())
    assert first.exit_code == 0, first.output
    assert re.fullmatch(r"created: \d{11} \(allocated\)\n", first.stdout)
    number = first.stdout.split()[1]
    assert second.exit_code == 0, second.output
    assert second.stdout == f"already exists: {number} (allocated)\n"
    assert database.row_counts()["orders"] == 1


# --- order numbers ------------------------------------------------------------------------------


def test_numbers_start_at_001_on_the_business_day_and_count_up(seeded, database):
    assert submit(seeded, order_payload(external_id="A")) == ("20260315001", True)
    assert submit(seeded, order_payload(external_id="B")) == ("20260315002", True)
    assert submit(seeded, order_payload(external_id="A")) == ("20260315001", False)
    assert submit(seeded, order_payload(external_id="C")) == ("20260315003", True)
    assert counter(database, "20260315") == 3


def test_business_date_follows_shanghai_not_utc(seeded, clock):
    clock.advance(timedelta(hours=13, minutes=59, seconds=59))  # 15:59:59 UTC = 23:59:59 in Shanghai
    assert submit(seeded, order_payload(external_id="late")) == ("20260315001", True)
    clock.advance(timedelta(seconds=1))  # 16:00 UTC = midnight in Shanghai
    assert submit(seeded, order_payload(external_id="midnight")) == ("20260316001", True)
    clock.advance(timedelta(hours=1))  # 2026-03-15 17:00 UTC
    assert submit(seeded, order_payload(external_id="utc-17")) == ("20260316002", True)


def test_serial_grows_wider_after_999(seeded, database):
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO order_number_counters (business_date, last_serial) VALUES ('20260315', 999)"))
    assert submit(seeded, order_payload(external_id="n1000")) == ("202603151000", True)
    assert submit(seeded, order_payload(external_id="n1001")) == ("202603151001", True)
    assert counter(database, "20260315") == 1001


def _roll_back_an_intake(ordo, external_id: str) -> str:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), ordo.transaction() as uow:
        order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(external_id=external_id)),
                                actor=Actor.system())
        taken = order.number
        raise Boom
    return taken


def _numbers(ordo) -> list[tuple[str, str]]:
    with ordo.reading() as uow:
        return [tuple(r) for r in uow.session.execute(select(Order.external_id, Order.number).order_by(Order.id))]


def test_gapless_numbers_a_rolled_back_intake_gives_its_serial_back(database, clock):
    """numbering.py: with ``gapless_numbers`` the serial is taken in the intake's transaction — no
    gap, no reuse of a kept number (both databases)."""
    database.empty()
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(intake=IntakePolicy(gapless_numbers=True)))
    seed(ordo)
    assert submit(ordo, order_payload(external_id="kept-1")) == ("20260315001", True)
    assert _roll_back_an_intake(ordo, "lost") == "20260315002"
    assert counter(database, "20260315") == 1
    assert submit(ordo, order_payload(external_id="kept-2")) == ("20260315002", True)
    assert submit(ordo, order_payload(external_id="kept-3")) == ("20260315003", True)
    assert _numbers(ordo) == [("kept-1", "20260315001"), ("kept-2", "20260315002"), ("kept-3", "20260315003")]
    assert counter(database, "20260315") == 3


def test_default_numbers_leave_a_gap_on_postgresql_and_none_on_sqlite(seeded, database):
    """By default PostgreSQL takes the serial in a side transaction committed at once: the rolled-back
    intake's serial stays taken (a gap, never a repeat). SQLite always numbers in the intake's own
    transaction."""
    assert seeded.policy.intake.gapless_numbers is False
    assert submit(seeded, order_payload(external_id="kept-1")) == ("20260315001", True)
    assert _roll_back_an_intake(seeded, "lost") == "20260315002"
    gap = database.kind == "postgresql"
    assert counter(database, "20260315") == (2 if gap else 1)
    assert submit(seeded, order_payload(external_id="kept-2")) == ("20260315003" if gap else "20260315002", True)
    assert _numbers(seeded) == [("kept-1", "20260315001"), ("kept-2", "20260315003" if gap else "20260315002")]


def test_side_transaction_serial_is_committed_before_the_intake_and_visible_to_others(seeded, database):
    """The side transaction commits while the intake is still open: another connection already sees
    the counter move (PostgreSQL) and is not blocked by it, so a second intake never waits for the
    first to commit."""
    if database.kind != "postgresql":
        pytest.skip("SQLite numbers in the intake's own transaction")
    with seeded.transaction() as uow:
        order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(external_id="open")),
                                actor=Actor.system())
        assert order.number == "20260315001"
        assert counter(database, "20260315") == 1  # read on another connection, intake still open
        with database.engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            bumped = other.execute(text(
                "UPDATE order_number_counters SET last_serial = last_serial + 1 WHERE business_date = '20260315' "
                "RETURNING last_serial")).scalar_one()
            other.commit()
        assert bumped == 2  # the counter row is not locked by the open intake
    assert _numbers(seeded) == [("open", "20260315001")]
    assert counter(database, "20260315") == 2


def test_rejected_intake_does_not_consume_a_serial(client, database):
    assert client.post(ORDERS, json=order_payload(total="1.00")).status_code == 422
    assert counter(database, "20260315") is None
    assert client.post(ORDERS, json=order_payload()).json()["number"] == "20260315001"


# --- stock --------------------------------------------------------------------------------------


def test_order_no_single_warehouse_can_hold_is_backordered_without_touching_stock(seeded, database):
    # 150 TEA-001: WH-SH holds 100, WH-LA holds 100 but does not serve CN.
    number, created = submit(seeded, tea(150))
    assert created
    assert status_of(seeded, number) == "backordered"
    assert reservations(seeded, number) == []
    assert stock(seeded, "WH-SH", "TEA-001") == (100, 0)
    assert stock(seeded, "WH-LA", "TEA-001") == (100, 0)
    assert ledger(seeded, "WH-SH", "TEA-001") == []
    assert ledger(seeded, "WH-LA", "TEA-001") == []
    counts = database.row_counts()
    assert (counts["reservations"], counts["shipments"], counts["shipment_lines"]) == (0, 0, 0)
    assert [e[4:7] for e in events(database)] == [
        ("order.created", None, "pending_review"),
        ("order.confirm", "pending_review", "confirmed"),
        ("order.backorder", "confirmed", "backordered"),
    ]


def test_cancelling_an_allocated_order_releases_its_reservation(client, seeded):
    created = client.post(ORDERS, json=tea(3))
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["status"] == "allocated"
    assert stock(seeded, "WH-SH", "TEA-001") == (100, 3)
    assert reservations(seeded, number) == [("WH-SH", "TEA-001", 3, "open")]

    cancelled = client.post(f"{ORDERS}/{number}/cancel", json={"reason": "customer changed their mind"})

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert [s["status"] for s in cancelled.json()["shipments"]] == ["cancelled"]
    assert stock(seeded, "WH-SH", "TEA-001") == (100, 0)
    assert reservations(seeded, number) == [("WH-SH", "TEA-001", 3, "released")]
    assert ledger(seeded, "WH-SH", "TEA-001") == [("reservation", 0, 3, number), ("release", 0, -3, number)]


def test_shipping_consumes_the_reservation(client, seeded):
    created = client.post(ORDERS, json=tea(4))
    number = created.json()["number"]
    prepare_packing(seeded, number)
    for action, body in [("pick", {}), ("finish-pick", {}), ("check", {}), ("pack", {}), ("hand-over", {})]:
        scan_before(seeded, number, action)
        r = client.post(f"{ORDERS}/{number}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
    assert stock(seeded, "WH-SH", "TEA-001") == (100, 4)

    shipped = client.post(f"{ORDERS}/{number}/ship", json={"tracking_number": "YT0001"})

    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert stock(seeded, "WH-SH", "TEA-001") == (96, 0)
    assert reservations(seeded, number) == [("WH-SH", "TEA-001", 4, "consumed")]
    assert ledger(seeded, "WH-SH", "TEA-001") == [
        ("reservation", 0, 4, number),
        ("shipment", -4, -4, f"{number}-1"),
    ]
    with seeded.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Shipment)) == 1


@pytest.mark.parametrize("prefer", [None, "return=minimal"])
def test_the_answers_of_creation_and_actions_are_what_a_read_finds_afterwards(client, prefer):
    """Creation and actions read their answer in their own transaction, before the commit: it must
    be what the order reads as once committed (times in UTC, clocks, events, shipments)."""
    headers = {"Prefer": prefer} if prefer else {}
    path = f"{ORDERS}/20260315001"

    def read() -> Any:
        if prefer:
            return next(o for o in client.get(ORDERS).json()["items"] if o["number"] == "20260315001")
        return client.get(path).json()

    created = client.post(ORDERS, json=order_payload(placed_at="2026-03-15T09:30:00+08:00"), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json() == read()
    for action in ("hold", "release"):
        changed = client.post(f"{path}/{action}", json={"hold_reason": "awaiting_customer"}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert changed.json() == read()
    assert created.json()["status"] == "allocated"


# --- validated before the transaction ----------------------------------------------------------


def test_an_intake_is_validated_before_its_transaction_once_the_process_has_the_copies(seeded, monkeypatch):
    submit(seeded, tea(1, external_id="WARM"))  # the process now has copies of the shop and the SKU
    in_use: list[int] = []
    validate = handlers.validate_submission

    def spy(*args: Any, **kwargs: Any) -> Any:
        in_use.append(seeded.engine.pool.checkedout())
        return validate(*args, **kwargs)

    monkeypatch.setattr(handlers, "validate_submission", spy)
    number, created = submit(seeded, tea(2, external_id="AHEAD"))
    assert created and status_of(seeded, number) == "allocated"
    assert in_use == [0]  # once, with no connection taken: before the transaction, not again inside it


def test_a_cold_process_validates_inside_the_transaction(seeded):
    cold = Ordo(Settings(database_url=seeded.settings.database_url), engine=seeded.engine)
    assert validated_ahead(cold, OrderSubmission.model_validate(tea(1, external_id="COLD"))) is None
    assert submit(cold, tea(1, external_id="COLD"))[1]
    assert validated_ahead(cold, OrderSubmission.model_validate(tea(1, external_id="WARM"))) is not None


def test_a_submission_validated_ahead_is_validated_again_once_the_reference_rows_moved_on(seeded):
    submit(seeded, tea(1, external_id="WARM"))
    submission = OrderSubmission.model_validate(tea(1, external_id="LATE"))
    ahead = validated_ahead(seeded, submission)
    assert ahead is not None and [line.sku_code for line in ahead.draft.lines] == ["TEA-001"]
    with seeded.transaction() as uow:  # another writer takes the SKU off sale meanwhile
        uow.session.execute(update(Sku).where(Sku.code == "TEA-001").values(active=False))
    with pytest.raises(ValidationFailed) as refused:
        seeded.run(lambda uow: submit_order(uow, submission=submission, actor=Actor.system(), ahead=ahead))
    assert [(p.path, p.key) for p in refused.value.problems] == [("lines[0].sku", "sku_unknown")]
    with seeded.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Order).where(Order.external_id == "LATE")) == 0


def test_a_submission_that_does_not_pass_ahead_is_refused_by_the_transaction_with_its_reasons(seeded):
    submit(seeded, tea(1, external_id="WARM"))
    bad = OrderSubmission.model_validate(tea(1, external_id="BAD", currency="XXX"))
    assert validated_ahead(seeded, bad) is None
    with pytest.raises(ValidationFailed) as refused:
        seeded.run(lambda uow: submit_order(uow, submission=bad, actor=Actor.system()))
    assert [(p.path, p.key) for p in refused.value.problems] == [("currency", "one_of")]
