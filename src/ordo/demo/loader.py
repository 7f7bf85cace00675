"""`ordo demo`: writes the reference data, then plays every order's story in time order through
the real intake and the real order actions, with a clock that moves from one step to the next.

Reference data (shops, warehouses, SKUs, customers) is written through the ORM; stock arrives
through ``inventory.receive`` and users through ``auth.add_user``; orders only ever change through
``submit_order`` and ``actions.perform`` (and, for cross-border shipments, the legs handler
``shipping.crossborder.handlers.record_leg``), so events, numbers, reservations and the stock ledger are
all genuine.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordo.audit.tables import Event
from ordo.auth.handlers import actor_of, add_user
from ordo.auth.model import Actor, Role
from ordo.auth.tables import User
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.customer.tables import Customer
from ordo.fulfillment.scanning import STAGE_STATE, expected_units, record_scan
from ordo.fulfillment.schemas import ScanIn, ScanStage
from ordo.fulfillment.states import ShipmentStatus
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.inventory.handlers import receive
from ordo.inventory.tables import StockMovement, Warehouse
from ordo.kernel.clock import FixedClock
from ordo.kernel.errors import IdempotencyConflict
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.order.handlers import submit_order
from ordo.order.states import ORDER, OrderStatus, OrderTrigger
from ordo.order.tables import Order
from ordo.shipping import steps as shipping_steps
from ordo.shipping.crossborder.handlers import record_leg
from ordo.shipping.crossborder.rules import LegAction
from ordo.shipping.crossborder.schemas import LegActionIn

from .catalog import CATEGORIES, SHOPS, WAREHOUSES, SkuSpec, StockProfile, barcode, build_catalog
from .people import CustomerSpec, make_customers
from .stories import HORIZON, SHIPMENT_ACTIONS, Planner, Step, Story, place

S = OrderStatus
A = OrderAction

# Users of every role (warehouse users are scoped to their warehouse, the shop clerk to the shop).
USERS: tuple[tuple[str, str, Role, dict[str, list[str]]], ...] = (
    ("admin", "系统管理员", Role.ADMIN, {}),
    ("cs1", "客服 李娜", Role.CUSTOMER_SERVICE, {}),
    ("cs2", "客服 陈静", Role.CUSTOMER_SERVICE, {}),
    ("store_sh", "门店店员 王磊", Role.CUSTOMER_SERVICE, {"shops": ["store-sh"]}),
    ("reviewer1", "审核主管 张强", Role.REVIEWER, {}),
    ("reviewer2", "部门主管 刘洋", Role.REVIEWER, {}),
    ("wh_sh", "上海仓 仓管 赵敏", Role.WAREHOUSE, {"warehouses": ["WH-SH"]}),
    ("wh_gz", "广州仓 仓管 黄俊", Role.WAREHOUSE, {"warehouses": ["WH-GZ"]}),
    ("wh_bj", "北京冷链仓 仓管 孙浩", Role.WAREHOUSE, {"warehouses": ["WH-BJ"]}),
    ("wh_lax", "LAX warehouse - Michael Brown", Role.WAREHOUSE, {"warehouses": ["WH-LAX"]}),
    ("dispatch1", "仓配调度 钱峰", Role.WAREHOUSE, {}),  # allocates across warehouses (and retries backorders)
    ("logistics1", "物流专员 赵磊", Role.LOGISTICS, {}),
    ("logistics2", "物流专员 孙悦", Role.LOGISTICS, {}),
    ("finance1", "财务 周敏", Role.FINANCE, {}),
    ("finance2", "财务 吴迪", Role.FINANCE, {}),
    ("supervisor1", "运营主管 郑宇", Role.SUPERVISOR, {}),
    ("supervisor2", "质检主管 何静", Role.SUPERVISOR, {}),
)
BATCH = 300  # actions per transaction
PROMOTION = (timedelta(days=13), timedelta(days=16))  # a three-day sale, two weeks ago
RESTOCKS = (timedelta(days=20), timedelta(days=12), timedelta(days=5))  # scarce SKUs arrive again
STATUS_ORDER = tuple(OrderStatus)
# Order actions that need every unit scanned first (fulfillment.scanning guards them).
SCAN_FIRST = {OrderAction.FINISH_PICK: ScanStage.PICK, OrderAction.CHECK: ScanStage.CHECK}


# --- reference data -----------------------------------------------------------------------------


@dataclass
class Reference:
    warehouses: dict[str, int] = field(default_factory=dict)  # code → id
    skus: dict[str, int] = field(default_factory=dict)  # code → id
    actors: dict[str, Actor] = field(default_factory=dict)  # username → actor
    warehouse_user: dict[int, str] = field(default_factory=dict)  # warehouse id → username


def _get_or_add(session: Session, model: type, code: str, make: Callable[[], object]) -> tuple[object, bool]:
    row = session.scalars(select(model).where(model.code == code)).first()  # type: ignore[attr-defined]
    if row is not None:
        return row, False
    row = make()
    session.add(row)
    return row, True


def _stock_plan(rng: random.Random, skus: list[SkuSpec], orders: int) -> list[tuple[str, str, int]]:
    """(warehouse, SKU, quantity) receipts: enough of the normal SKUs for the expected demand,
    a handful of the scarce ones, none of the sold-out ones."""
    units = max(orders, 100) * 2.6
    normal = [s for s in skus if s.profile == StockProfile.NORMAL]
    popularity = sum(s.popularity for s in normal) or 1.0
    plan: list[tuple[str, str, int]] = []
    for sku in skus:
        if sku.profile == StockProfile.SOLD_OUT or sku.popularity == 0:
            continue
        if sku.profile == StockProfile.SCARCE:
            plan.append(("WH-BJ" if "perishable" in sku.traits else "WH-SH", sku.code, rng.randint(2, 5)))
            continue
        demand = units * sku.popularity / popularity
        if "perishable" in sku.traits:
            plan.append(("WH-BJ", sku.code, math.ceil(demand * 1.6) + rng.randint(40, 120)))
            continue
        # Half the domestic-only goods run short in Shanghai, so later orders go to Guangzhou
        # (which holds every SKU, so that an order never lacks a line there).
        short = not CATEGORIES[sku.category][3] and rng.random() < 0.5
        if short:
            plan.append(("WH-SH", sku.code, math.ceil(demand * 0.35) + rng.randint(3, 10)))
            plan.append(("WH-GZ", sku.code, math.ceil(demand * 1.5) + rng.randint(40, 100)))
        else:
            plan.append(("WH-SH", sku.code, math.ceil(demand * 1.3) + rng.randint(80, 200)))
            plan.append(("WH-GZ", sku.code, math.ceil(demand * 0.6) + rng.randint(20, 80)))
        if rng.random() < 0.3:
            plan.append(("WH-BJ", sku.code, rng.randint(20, 60)))
        if sku.overseas:
            plan.append(("WH-LAX", sku.code, math.ceil(demand * 0.3) + rng.randint(20, 60)))
    return plan


def load_reference(
    uow: UnitOfWork, *, rng: random.Random, skus: list[SkuSpec], customers: list[CustomerSpec], orders: int
) -> Reference:
    """Shops, warehouses, SKUs, stock, users and customers; what already exists is kept."""
    session, now = uow.session, uow.clock.now()
    ref = Reference()
    for spec in SHOPS:
        _get_or_add(session, Shop, spec.code,
                    lambda spec=spec: Shop(code=spec.code, name=spec.name, channel=spec.channel.value, created_at=now))
    for w in WAREHOUSES:
        row, _ = _get_or_add(session, Warehouse, w.code, lambda w=w: Warehouse(
            code=w.code, name=w.name, kind=w.kind, country=w.country, region=w.region, serves=list(w.serves),
            capabilities=list(w.capabilities), priority=w.priority, active=True))
        session.flush()
        ref.warehouses[w.code] = row.id  # type: ignore[attr-defined]
        ref.warehouse_user[row.id] = w.user  # type: ignore[attr-defined]
    new_skus: set[str] = set()
    for i, spec in enumerate(skus):
        row, created = _get_or_add(session, Sku, spec.code, lambda i=i, spec=spec: Sku(
            code=spec.code, barcode=barcode(i), name=spec.name, category=spec.category,
            traits=[t.value for t in spec.traits], weight_g=spec.weight_g, length_mm=spec.dims_mm[0],
            width_mm=spec.dims_mm[1], height_mm=spec.dims_mm[2], price=spec.price, currency="CNY",
            hs_code=spec.hs_code, declared_value=(spec.price * Decimal("0.6")).quantize(Decimal("0.01")),
            origin_country="CN", active=True))
        if created:
            new_skus.add(spec.code)
    session.flush()
    ref.skus = dict(session.execute(select(Sku.code, Sku.id)).all())
    for n, (warehouse, code, quantity) in enumerate(_stock_plan(rng, skus, orders)):
        if code not in new_skus:
            continue
        stock = receive(session, warehouse_id=ref.warehouses[warehouse], sku_id=ref.skus[code], quantity=quantity,
                        actor=next(w.user for w in WAREHOUSES if w.code == warehouse), at=now,
                        reason="期初入库", reference=f"ASN-INIT-{n + 1:04d}")
        # bin codes of the default floor (policy.warehouse.layout: 10 aisles of 30 slots)
        stock.bin = stock.bin or f"A{n % 10 + 1:02d}-{n * 7 % 30 + 1:03d}-{'LR'[n // 10 % 2]}"
    for username, display, role, scope in USERS:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            user = add_user(uow, username=username, roles=[role.value], display_name=display, **scope)
        ref.actors[username] = actor_of(user)
    known = set(session.scalars(select(Customer.phone).where(Customer.phone.in_([c.phone_e164 for c in customers]))))
    for c in customers:
        if c.phone_e164 not in known:
            session.add(Customer(
                name=c.name, phone=c.phone_e164, email=c.email, account=c.account, vip_level=c.vip_level,
                created_at=now - timedelta(days=rng.randint(1, 700), minutes=rng.randint(0, 1439))))
    session.flush()
    return ref


# --- the simulation -----------------------------------------------------------------------------

Process = Iterator[timedelta]


class Simulation:
    """Runs order stories (and restocks) in time order; each process yields how long to wait."""

    def __init__(self, app: Ordo, clock: FixedClock, ref: Reference, *, now: datetime, tz: ZoneInfo) -> None:
        self.app, self.clock, self.ref, self.now, self.tz = app, clock, ref, now, tz
        self.uow: UnitOfWork | None = None
        self.queue: list[tuple[datetime, int, Process]] = []
        self.seq = itertools.count()
        self.created = 0
        self.skipped = 0
        self.diverged = 0
        self.actors = dict(ref.actors)
        self.actors["system"] = Actor.system()
        self.actors["gateway"] = Actor(name="payment-gateway", roles=frozenset({Role.FINANCE}))
        self.barcodes: dict[str, str] = {}  # SKU code → what the scanner reads

    def start(self, at: datetime, process: Process) -> None:
        heapq.heappush(self.queue, (at, next(self.seq), process))

    def run(self, on_batch: Callable[[datetime], None]) -> None:
        while self.queue and self.queue[0][0] <= self.now:
            with self.app.transaction() as uow:
                self.uow = uow
                for _ in range(BATCH):
                    if not self.queue or self.queue[0][0] > self.now:
                        break
                    at, _, process = heapq.heappop(self.queue)
                    self.clock.advance(at - self.clock.now())
                    wait = next(process, None)
                    if wait is not None:
                        heapq.heappush(self.queue, (at + wait, next(self.seq), process))
            self.uow = None
            on_batch(self.clock.now())

    # -- processes

    def restock(self, skus: list[SkuSpec], rng: random.Random) -> Process:
        """Scarce SKUs arrive again now and then (advance shipping notices, received by the warehouse)."""
        times = [self.now - ago for ago in RESTOCKS]
        for i, at in enumerate(times):
            if i:
                yield at - times[i - 1]
            assert self.uow is not None
            session, reference = self.uow.session, f"ASN-{at.astimezone(self.tz):%Y%m%d}-{i + 1}"
            if session.scalar(select(StockMovement.id).where(StockMovement.reference == reference).limit(1)):
                continue  # loaded before
            for sku in skus:
                warehouse = "WH-BJ" if "perishable" in sku.traits else "WH-SH"
                receive(
                    session, warehouse_id=self.ref.warehouses[warehouse], sku_id=self.ref.skus[sku.code],
                    quantity=rng.randint(2, 5), actor="wh_bj" if warehouse == "WH-BJ" else "wh_sh",
                    at=self.clock.now(), reason="补货入库", reference=reference,
                )

    def order(self, story: Story) -> Process:
        status = self._intake(story)
        if status is None:
            return
        for step in story.steps:
            yield step.wait
            if step.leg is not None:
                # A cross-border leg, once the warehouse has handed the goods over.
                if status not in (S.IN_FULFILLMENT, S.SHIPPED):
                    self.diverged += 1
                    return
                status = self._record_leg(story, step)
                continue
            action = OrderAction(step.action)
            if status == S.BACKORDERED and action in SHIPMENT_ACTIONS:
                status = yield from self._await_stock(story)
                if status != S.ALLOCATED:
                    return
            if not self._allowed(action, status):
                self.diverged += 1
                return
            status = self._act(story, action, step.actor, step.body)

    def _await_stock(self, story: Story) -> Iterator[timedelta]:
        """Backordered unexpectedly (scarce stock): retry allocation at the next runs, then the
        customer either keeps waiting or cancels."""
        rng = story.rng
        for _ in range(story.patience):
            yield timedelta(hours=rng.uniform(6, 14))
            status = self._act(story, A.ALLOCATE, "dispatch1", {})
            if status != S.BACKORDERED:
                return status
        if not story.gives_up:
            return S.BACKORDERED
        yield timedelta(hours=rng.uniform(1, 12))
        return self._act(story, A.CANCEL, "cs1", {"reason": "缺货等待超时，客户选择取消订单"})

    # -- doing things

    def _intake(self, story: Story) -> str | None:
        assert self.uow is not None
        if story.intake_actor == "channel":
            actor = Actor(name=f"channel:{story.shop.code}", roles=frozenset({Role.CUSTOMER_SERVICE}),
                          shops=frozenset({story.shop.code}))
        else:
            actor = self.actors[story.intake_actor]
        try:
            with self.uow.session.begin_nested():
                order, created = submit_order(self.uow, submission=story.submission(self.tz), actor=actor)
        except IdempotencyConflict:
            created = False
        if not created:
            self.skipped += 1
            return None
        self.created += 1
        story.number = order.number
        return order.status

    def _allowed(self, action: OrderAction, status: str) -> bool:
        if action in SHIPMENT_ACTIONS:
            return status in (S.ALLOCATED, S.IN_FULFILLMENT, S.SHIPPED)
        if action == A.RELEASE:
            return status == S.ON_HOLD
        if action == A.HOLD:
            return status == S.ON_HOLD or ORDER.can(status, OrderTrigger.HOLD)
        return ORDER.can(status, OrderTrigger(action.value))

    def _actor(self, story: Story, name: str) -> Actor:
        if name == "channel":
            return Actor(name=f"channel:{story.shop.code}", roles=frozenset({Role.CUSTOMER_SERVICE}),
                         shops=frozenset({story.shop.code}))
        if name == "checker":  # the dispatcher checks what the warehouse user picked
            picker = self._actor(story, "warehouse").name
            name = "dispatch1" if picker != "dispatch1" else "admin"
        if name == "warehouse":
            if story.warehouse_user is None:
                assert self.uow is not None
                warehouse_id = self.uow.session.scalar(
                    select(Shipment.warehouse_id).join(Order, Order.id == Shipment.order_id)
                    .where(Order.number == story.number, Shipment.status != ShipmentStatus.CANCELLED)
                    .order_by(Shipment.id)
                )
                story.warehouse_user = self.ref.warehouse_user.get(warehouse_id or 0, "dispatch1")
            name = story.warehouse_user
        return self.actors[name]

    def _act(self, story: Story, action: OrderAction, actor: str, body: dict[str, object]) -> str:
        assert self.uow is not None and story.number is not None
        who = self._actor(story, actor)
        if action in SCAN_FIRST:
            self._scan(story, SCAN_FIRST[action], who)
        if action == A.PACK:
            self._record_packing(story)
        order = perform(self.uow, number=story.number, action=action, body=ActionIn.model_validate(body), actor=who)
        return order.status

    def _record_leg(self, story: Story, step: Step) -> str:
        """Record the step's leg on each of the order's shipments through the legs handler (which
        moves a shipment through export, customs and out for delivery, and the order with it).
        The forwarder is asked to collect the day after the booking."""
        assert self.uow is not None and step.leg is not None and story.number is not None
        session, who = self.uow.session, self._actor(story, step.actor)
        body = dict(step.body)
        if step.action == LegAction.BOOK:
            body.setdefault("requested_date", (self.clock.now() + timedelta(days=1)).astimezone(self.tz).date())
        shipments = session.scalars(
            select(Shipment.number).join(Order, Order.id == Shipment.order_id)
            .where(Order.number == story.number, Shipment.status != ShipmentStatus.CANCELLED).order_by(Shipment.id)
        ).all()
        for number in shipments:
            record_leg(self.uow, shipment=number, leg=step.leg.value,
                       body=LegActionIn.model_validate({"action": step.action.value, **body}), actor=who)
        return session.scalars(select(Order.status).where(Order.number == story.number)).one()

    def _scan(self, story: Story, stage: ScanStage, actor: Actor) -> None:
        """Scan every unit of the shipments this person is about to move (finish picking, check)."""
        assert self.uow is not None
        session = self.uow.session
        if not self.barcodes:
            self.barcodes = {code: barcode or code for code, barcode in session.execute(select(Sku.code, Sku.barcode))}
        shipments = session.execute(
            select(Shipment, Warehouse.code).join(Order, Order.id == Shipment.order_id)
            .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
            .where(Order.number == story.number, Shipment.status == STAGE_STATE[stage]).order_by(Shipment.id)
        ).all()
        for shipment, warehouse in shipments:
            if actor.warehouses and warehouse not in actor.warehouses:
                continue
            for code, quantity in expected_units(session, shipment).items():
                body = ScanIn(barcode=self.barcodes[code], quantity=quantity, stage=stage)
                record_scan(self.uow, shipment=shipment.number, body=body, actor=actor).raise_if_refused()


    def _record_packing(self, story: Story) -> None:
        """The packer follows every instruction and weighs one box per shipment (the pack guard wants it)."""
        assert self.uow is not None
        session, now = self.uow.session, self.uow.clock.now()
        checked = session.scalars(
            select(Shipment).join(Order, Order.id == Shipment.order_id)
            .where(Order.number == story.number, Shipment.status == ShipmentStatus.CHECKED).order_by(Shipment.id)
        )
        for shipment in checked:
            plan = shipping_steps.plan_for(session, shipment, self.uow.policy)
            weight = session.scalar(
                select(func.sum(Sku.weight_g * ShipmentLine.quantity)).select_from(ShipmentLine)
                .join(Sku, Sku.id == ShipmentLine.sku_id)
                .where(ShipmentLine.shipment_id == shipment.id)
            ) or 0
            shipping_steps.record_packing(
                session, shipment, confirmed=list(plan.instructions),
                parcels=[shipping_steps.ParcelIn(max(int(weight) + 150, 1), 300, 200, 150)],
                temperature_logger_id=f"TL-{shipment.number}" if plan.temperature_logger else None, at=now,
            )


# --- the command --------------------------------------------------------------------------------


def _counts(app: Ordo) -> tuple[dict[str, int], dict[str, int]]:
    with app.reading() as uow:
        s = uow.session
        statuses = dict(s.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        totals = {
            "SKUs": s.scalar(select(func.count()).select_from(Sku)) or 0,
            "warehouses": s.scalar(select(func.count()).select_from(Warehouse)) or 0,
            "shops": s.scalar(select(func.count()).select_from(Shop)) or 0,
            "customers": s.scalar(select(func.count()).select_from(Customer)) or 0,
            "VIP customers": s.scalar(select(func.count()).select_from(Customer).where(Customer.vip_level > 0)) or 0,
            "users": s.scalar(select(func.count()).select_from(User)) or 0,
            "events": s.scalar(select(func.count()).select_from(Event)) or 0,
        }
    return statuses, totals


def load_demo(ordo: Ordo, *, orders: int, seed: int, if_empty: bool, console: Console) -> None:
    """Load the demo data set: ``orders`` orders over the four weeks before ``ordo``'s clock."""
    if orders < 0:
        raise ValueError("orders must not be negative")
    with ordo.reading() as uow:
        existing = uow.session.scalar(select(func.count()).select_from(Order)) or 0
    if if_empty and existing:
        console.print(f"{existing} orders already exist: demo data not loaded.")
        return
    started = time.monotonic()
    now = ordo.clock.now()
    tz = ZoneInfo(ordo.policy.business_timezone)
    clock = FixedClock(now - HORIZON - timedelta(days=2))
    # The stories script every review step by hand (the people of the demo hold, release, confirm),
    # so the automatic review rules stay out of the replay; they apply to every order after it.
    scripted = ordo.policy.model_copy(update={"review": ordo.policy.review.model_copy(update={"auto_screen": False})})
    app = Ordo(ordo.settings, clock=clock, policy=scripted, engine=ordo.engine)

    rng = random.Random(seed)
    skus = build_catalog(rng)
    customers = make_customers(rng, max(40, orders * 2 // 5))
    planner = Planner(rng=rng, seed=seed, policy=ordo.policy, skus=skus, customers=customers)
    stories = planner.stories(orders)
    targets = [s.value for s in STATUS_ORDER if s != S.CONFIRMED or not ordo.policy.review.auto_allocate]
    place(stories, rng=rng, now=now, tz=tz, targets=targets, anchors_per_state=max(1, min(3, orders // 200)),
          promotion=PROMOTION)

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("reference data", total=1)
        with app.transaction() as uow:
            ref = load_reference(uow, rng=rng, skus=skus, customers=customers, orders=orders)
        progress.update(task, completed=1)
        sim = Simulation(app, clock, ref, now=now, tz=tz)
        scarce = [s for s in skus if s.profile == StockProfile.SCARCE]
        sim.start(now - RESTOCKS[0], sim.restock(scarce, random.Random(f"{seed}:restock")))
        for story in sorted(stories, key=lambda s: (s.at, s.index)):
            assert story.at is not None
            sim.start(story.at, sim.order(story))
        task = progress.add_task("orders", total=orders)

        def on_batch(at: datetime) -> None:
            progress.update(task, completed=sim.created + sim.skipped,
                            description=f"orders  {at.astimezone(tz):%Y-%m-%d %H:%M}")

        sim.run(on_batch)
        progress.update(task, completed=orders, description="orders")

    statuses, totals = _counts(ordo)
    table = Table("status", "orders", title="Demo data: orders by status")
    for status in STATUS_ORDER:
        table.add_row(status.value, str(statuses.get(status.value, 0)))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(statuses.values())}[/bold]")
    console.print(table)
    console.print(", ".join(f"{v} {k}" for k, v in totals.items()))
    if sim.skipped:
        console.print(f"{sim.skipped} orders were already there (same channel order id) and were left alone.")
    console.print(
        f"{sim.created} orders loaded in {time.monotonic() - started:.1f} s. Users: "
        + ", ".join(name for name, *_ in USERS) + " (create a token with `ordo tokens create <user>`)."
    )


__all__ = ["load_demo"]
