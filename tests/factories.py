"""Reference data and payloads for tests, written straight through the ORM."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, select, text

from ordo.adapters.carriers.base import CarrierAdapter
from ordo.auth.handlers import add_user, create_token
from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.fulfillment.scanning import STAGE_STATE, expected_units, record_scan
from ordo.fulfillment.schemas import ScanIn, ScanStage
from ordo.fulfillment.tables import Shipment
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.order.tables import Order
from ordo.settings import Settings

SKUS = [
    # code, category, traits, price
    ("TEA-001", "tea", [], "25.00"),
    ("MUG-002", "kitchen", ["fragile"], "39.90"),
    ("LYC-003", "fresh_fruit", ["perishable"], "88.00"),
    ("OIL-004", "grocery", ["liquid"], "59.00"),
    ("SOFA-005", "furniture", ["bulky"], "2999.00"),
    ("PHONE-006", "electronics", ["electronics"], "4999.00"),
    ("KNIFE-007", "controlled_knives", [], "120.00"),
    ("FIREWORK-008", "party", ["prohibited"], "30.00"),
]


def seed(ordo: Ordo, *, stock: int = 100) -> None:
    with ordo.transaction() as uow:
        s, now = uow.session, uow.clock.now()
        s.add_all(
            [
                Shop(code="web-cn", name="官网商城", channel="web", created_at=now),
                Shop(code="tmall", name="Tmall flagship", channel="marketplace", created_at=now),
            ]
        )
        for i, (code, category, traits, price) in enumerate(SKUS):
            s.add(
                Sku(
                    code=code,
                    barcode=f"690000000{i:04d}",
                    name=code.title(),
                    category=category,
                    traits=traits,
                    price=Decimal(price),
                    weight_g=500 * (i + 1),
                    hs_code="0902300000",
                    declared_value=Decimal(price),
                )
            )
        s.add_all(
            [
                Warehouse(
                    code="WH-SH",
                    name="上海仓",
                    kind="domestic",
                    country="CN",
                    region="上海",
                    serves=[],
                    capabilities=[],
                    priority=10,
                ),
                Warehouse(
                    code="WH-BJ",
                    name="北京冷链仓",
                    kind="domestic",
                    country="CN",
                    region="北京",
                    serves=[],
                    capabilities=["cold_chain"],
                    priority=20,
                ),
                Warehouse(
                    code="WH-LA",
                    name="Los Angeles",
                    kind="overseas",
                    country="US",
                    region="CA",
                    serves=["US", "CA"],
                    capabilities=[],
                    priority=10,
                ),
            ]
        )
        s.flush()
        skus = {k.code: k.id for k in s.query(Sku)}
        whs = {w.code: w.id for w in s.query(Warehouse)}
        if stock:
            for code in ("TEA-001", "MUG-002", "OIL-004", "SOFA-005", "PHONE-006"):
                receive(s, warehouse_id=whs["WH-SH"], sku_id=skus[code], quantity=stock, actor="test", at=now)
            receive(s, warehouse_id=whs["WH-BJ"], sku_id=skus["LYC-003"], quantity=stock, actor="test", at=now)
            receive(s, warehouse_id=whs["WH-LA"], sku_id=skus["TEA-001"], quantity=stock, actor="test", at=now)


def with_carriers(database: Any, clock: Any, carriers: dict[str, CarrierAdapter]) -> Ordo:
    """An Ordo on the emptied test database with these carrier adapters and the reference data of ``seed``."""
    database.empty()
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine, carriers=carriers)
    seed(ordo)
    return ordo


def handed_over(ordo: Ordo, external_id: str) -> str:
    """A new order (``order_payload``: two teas from WH-SH) walked to hand-over with the order's
    handlers, as the system, doing before each step what the warehouse must; its number."""
    from ordo.fulfillment.states import ShipmentTrigger as T
    from ordo.order.handlers import advance_shipments, intake
    from ordo.order.model import OrderSubmission

    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload(external_id=external_id)),
                       actor=Actor.system())
    for trigger in (T.START_PICK, T.FINISH_PICK, T.CHECK, T.PACK, T.HAND_OVER):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            advance_shipments(uow, number=number, trigger=trigger, actor=Actor.system())
    return number


PICKER = "picker-test"
CHECKER = "checker-test"


def scan_all(ordo: Ordo, order: str, stage: str, *, actor: str | None = None, shipment: str | None = None) -> list[str]:
    """Scan every unit of the order's shipments that are at ``stage`` ("pick": being picked, "check":
    picked), as a warehouse person (by default one picker, another checker, so that whoever then
    finishes and checks is a second person). Returns the shipments scanned."""
    stage_ = ScanStage(stage)
    who = Actor(name=actor or (PICKER if stage_ == ScanStage.PICK else CHECKER), roles=frozenset({Role.WAREHOUSE}))
    done: list[str] = []
    with ordo.transaction() as uow:
        rows = uow.session.scalars(
            select(Shipment).join(Order, Order.id == Shipment.order_id)
            .where(Order.number == order, Shipment.status == STAGE_STATE[stage_]).order_by(Shipment.id)
        ).all()
        for row in rows:
            if shipment is not None and row.number != shipment:
                continue
            barcodes = dict(uow.session.execute(select(Sku.code, Sku.barcode)).all())
            for code, quantity in expected_units(uow.session, row).items():
                body = ScanIn(barcode=barcodes[code] or code, quantity=quantity, stage=stage_)
                record_scan(uow, shipment=row.number, body=body, actor=who).raise_if_refused()
            done.append(row.number)
    return done


# Order actions that need scans first, and the stage they need.
SCAN_BEFORE = {"finish-pick": "pick", "finish_pick": "pick", "check": "check"}


def scan_before(ordo: Ordo, order: str, action: str, **kwargs: Any) -> None:
    """Before ``finish-pick`` scan the pick stage, before ``check`` the check stage; otherwise nothing."""
    stage = SCAN_BEFORE.get(str(action))
    if stage is not None:
        scan_all(ordo, order, stage, **kwargs)


def user_token(ordo: Ordo, username: str, roles: list[str], **scope: Any) -> str:
    with ordo.transaction() as uow:
        add_user(uow, username=username, roles=roles, **scope)
        return create_token(uow, username=username)


BASE_ORDER: dict[str, Any] = {
    "shop": "web-cn",
    "external_id": "WEB-1001",
    "customer": {"name": "张伟", "phone": "13812345678", "email": "zhang.wei@example.cn"},
    "address": {
        "country": "CN",
        "province": "上海市",
        "city": "上海市",
        "district": "浦东新区",
        "street": "世纪大道100号",
        "postcode": "200120",
    },
    "lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "25.00"}],
    "shipping_fee": "10.00",
    "discounts": "5.00",
    "total": "55.00",
    "currency": "CNY",
    "payment": {"method": "alipay", "status": "paid", "amount_paid": "55.00"},
    "service_type": "domestic_express",
    "order_class": "normal",
}


def order_payload(**changes: Any) -> dict[str, Any]:
    """The base order with changes. Another external id gets another customer and address (unless
    the test gives them), so that unrelated test orders do not look like duplicates to the risk
    rules; review tests give the same customer on purpose."""
    payload = copy.deepcopy(BASE_ORDER)
    external_id = changes.get("external_id", BASE_ORDER["external_id"])
    if str(external_id).strip() != BASE_ORDER["external_id"]:
        n = int(hashlib.sha256(str(external_id).encode()).hexdigest()[:8], 16) % 10**8
        if "customer" not in changes:
            payload["customer"] = {**payload["customer"], "phone": f"139{n:08d}", "email": f"buyer{n}@example.cn"}
        if "address" not in changes:
            payload["address"] = {**payload["address"], "street": f"世纪大道{n % 9000 + 101}号{n // 9000 % 50 + 1}室"}
    payload.update(changes)
    return payload


def prepare_packing(ordo: Ordo, number: str, *, weight_g: int = 800, dims: tuple[int, int, int] = (200, 150, 100),
                    logger: str | None = "TL-0001") -> None:
    """Record, for every live shipment of the order, what the pack guard asks for: every packing
    instruction confirmed, one parcel, a temperature logger where perishables need one. The
    ``pack`` order action then passes; the carrier is chosen when it does."""
    from sqlalchemy import select

    from ordo.fulfillment.states import BEFORE_HANDOVER
    from ordo.fulfillment.tables import Shipment
    from ordo.order.tables import Order
    from ordo.shipping import steps

    with ordo.transaction() as uow:
        s = uow.session
        shipments = s.scalars(
            select(Shipment).join(Order, Order.id == Shipment.order_id)
            .where(Order.number == number, Shipment.status.in_(list(BEFORE_HANDOVER))).order_by(Shipment.id)
        ).all()
        for shipment in shipments:
            plan = steps.plan_for(s, shipment, uow.policy)
            steps.record_packing(
                s, shipment, confirmed=list(plan.instructions), parcels=[steps.ParcelIn(weight_g, *dims)],
                temperature_logger_id=logger if plan.temperature_logger else None, at=uow.clock.now(),
            )


def prepare_step(ordo: Ordo, number: str, action: str) -> None:
    """Whatever the warehouse must have done before the order action ``action`` passes its guards:
    the scans before ``finish-pick`` and ``check``, the packing record before ``pack``."""
    scan_before(ordo, number, action)
    if action == "pack":
        prepare_packing(ordo, number)


def wait_for_lock_waiters(engine: Engine, *, what: str, at_least: int = 1, timeout: float = 10.0,
                          unless: threading.Event | None = None) -> None:
    """Until at least ``at_least`` sessions of this PostgreSQL database wait on a lock (polling
    pg_stat_activity from a fresh connection each time, not a clock), or ``unless`` is set."""
    deadline = time.monotonic() + timeout
    sql = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    while unless is None or not unless.is_set():
        with engine.connect() as conn:
            if conn.execute(sql).scalar_one() >= at_least:
                return
        assert time.monotonic() < deadline, f"{what} never waited"
        time.sleep(0.05)


def load_file(path: Path, name: str) -> ModuleType:
    """A Python file that is not in a package (a migration, a bench script) as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def side_by_side(bodies: dict[str, Callable[[], None]], failures: list[tuple[str, str, str]] | None = None,
                 *, timeout: float = 30) -> list[tuple[str, str, str]]:
    """Run each body in a thread of its own, all at once, and wait for them. Returns ``failures``
    with what raised added, as (name, exception type, first line of its message)."""
    failures = [] if failures is None else failures

    def run(name: str, body: Callable[[], None]) -> None:
        try:
            body()
        except Exception as exc:
            failures.append((name, type(exc).__name__, (str(exc).splitlines() or [""])[0]))

    threads = [threading.Thread(target=run, args=item) for item in bodies.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return failures
