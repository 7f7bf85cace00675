"""`ordo demo` on both databases: the data set it promises, every order built by the real intake and
the real order actions (so events, numbers, reservations and the stock ledger all hold together)."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import phonenumbers
from rich.console import Console
from sqlalchemy import func, select

from ordo.audit.tables import Event
from ordo.auth.model import Role
from ordo.auth.tables import User
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.channel.model import ChannelKind
from ordo.channel.tables import Shop
from ordo.customer.tables import Customer
from ordo.demo import load_demo
from ordo.fulfillment.tables import Shipment
from ordo.inventory.model import ReservationStatus
from ordo.inventory.tables import Reservation, Stock, StockMovement, Warehouse
from ordo.order.states import OrderStatus
from ordo.order.tables import Order, OrderHold
from ordo.policy import Trait
from ordo.shipping.crossborder.tables import ShipmentLeg
from tests.conftest import T0

ORDERS, SEED = 120, 7
# Every order state but "confirmed": with automatic allocation on (the default policy) an order
# never rests there — confirming allocates (or backorders) it in the same transaction.
REACHABLE = {s.value for s in OrderStatus} - {OrderStatus.CONFIRMED.value}
INTERNATIONAL = {"intl_air", "intl_sea", "overseas_warehouse"}


def load(ordo: Ordo, *, orders: int = ORDERS, seed: int = SEED, if_empty: bool = False) -> str:
    out = io.StringIO()
    load_demo(ordo, orders=orders, seed=seed, if_empty=if_empty, console=Console(file=out, width=160))
    return out.getvalue()


def test_demo_loads_reference_data_and_orders_in_every_state(ordo):
    output = load(ordo)
    assert "Demo data: orders by status" in output
    tz = ZoneInfo(ordo.policy.business_timezone)
    with ordo.reading() as uow:
        s = uow.session
        skus = s.scalars(select(Sku)).all()
        assert len(skus) >= 200
        assert len({k.category for k in skus}) >= 12
        assert set().union(*(set(k.traits) for k in skus)) == {t.value for t in Trait}
        assert len({k.barcode for k in skus}) == len(skus)

        warehouses = s.scalars(select(Warehouse)).all()
        assert Counter(w.kind for w in warehouses) == {"domestic": 3, "overseas": 1}
        assert [w.code for w in warehouses if "cold_chain" in w.capabilities] == ["WH-BJ"]
        assert {sh.channel for sh in s.scalars(select(Shop))} == {k.value for k in ChannelKind}

        users = s.scalars(select(User)).all()
        assert {r for u in users for r in u.roles} == {r.value for r in Role}
        assert {"cs1", "reviewer1", "wh_sh", "logistics1", "finance1", "supervisor1"} <= {u.username for u in users}
        assert {u.username: u.warehouses for u in users if Role.WAREHOUSE in u.roles} == {
            "wh_sh": ["WH-SH"], "wh_gz": ["WH-GZ"], "wh_bj": ["WH-BJ"], "wh_lax": ["WH-LAX"], "dispatch1": [],
        }
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.vip_level > 0)) > 0

        orders = s.scalars(select(Order).order_by(Order.id)).all()
        assert len(orders) == ORDERS
        assert {o.status for o in orders} == REACHABLE
        assert len({o.channel for o in orders}) == len(ChannelKind)
        assert {"normal", "promotion", "fresh", "urgent", "cross_border"} == {o.order_class for o in orders}
        assert any(o.vip_level > 0 for o in orders)
        for o in orders:
            assert T0 - timedelta(days=28) <= o.created_at <= T0
            assert o.number.startswith(o.created_at.astimezone(tz).strftime("%Y%m%d"))
            phone = phonenumbers.parse(o.phone)
            assert phonenumbers.is_valid_number(phone)
            assert phonenumbers.region_code_for_number(phone) == o.country
            if o.country == "CN":
                assert o.province and o.district and o.currency == "CNY"
                assert re.search(r"\d+号", o.street), o.street
            else:
                assert o.country in {"US", "JP", "DE"} and o.postcode
                assert o.service_type in INTERNATIONAL and o.order_class == "cross_border" and o.currency != "CNY"
            if o.order_class == "fresh":
                assert o.service_type == "cold_chain"
        assert any(o.country != "CN" for o in orders)
        assert len({o.number for o in orders}) == ORDERS

        # Fresh goods leave from the cold-chain warehouse only.
        cold = s.scalars(
            select(Warehouse.code).join(Shipment, Shipment.warehouse_id == Warehouse.id)
            .join(Order, Order.id == Shipment.order_id).where(Order.service_type == "cold_chain").distinct()
        ).all()
        assert cold == ["WH-BJ"]

        # Cross-border shipments went through the legs of their service type, in order: a delivered
        # one has every planned leg completed, with the SKUs' customs data declared.
        legs = defaultdict(dict)
        for row in s.scalars(select(ShipmentLeg).order_by(ShipmentLeg.id)):
            legs[row.shipment_id][row.leg] = row
        delivered: Counter[str] = Counter()
        for shipment, service_type in s.execute(
            select(Shipment, Order.service_type).join(Order, Order.id == Shipment.order_id)
            .where(Order.service_type.in_(INTERNATIONAL))
        ):
            plan = [leg.value for leg in ordo.policy.intake.service_types[service_type].legs]
            recorded = legs[shipment.id]
            assert list(recorded) == plan[:len(recorded)], shipment.number
            if shipment.status == "delivered":
                delivered[service_type] += 1
                assert {k: r.status for k, r in recorded.items()} == dict.fromkeys(plan, "completed"), shipment.number
                if "export_declaration" in plan:
                    lines = recorded["export_declaration"].data["lines"]
                    assert lines and all(ln["hs_code"] and ln["origin_country"] == "CN" for ln in lines)
            if shipment.status in ("allocated", "picking", "picked", "checked", "packed", "cancelled"):
                assert not recorded, shipment.number
        assert {"intl_air", "overseas_warehouse"} <= set(delivered), delivered

        # Holds: several reasons; an order is on hold exactly when it has an open hold.
        holds = s.scalars(select(OrderHold)).all()
        assert len({h.reason for h in holds}) >= 4
        open_by_order = Counter(h.order_id for h in holds if h.released_at is None)
        assert {o.id for o in orders if o.status == OrderStatus.ON_HOLD} == set(open_by_order)

        # Events: each order's history starts with order.created and chains state to state up to
        # its current status, in time order.
        events = defaultdict(list)
        for e in s.scalars(select(Event).where(Event.entity == "order").order_by(Event.id)):
            events[e.order_id].append(e)
        for o in orders:
            history = events[o.id]
            assert history[0].name == "order.created" and history[0].from_state is None, o.number
            for before, after in pairwise(history):
                assert after.from_state == before.to_state, (o.number, before.name, after.name)
                assert after.created_at >= before.created_at
            assert history[-1].to_state == o.status, o.number

        # Stock: reserved is what the open reservations hold; on hand and reserved are the sums of
        # the ledger; some SKUs are short somewhere.
        open_reserved = {
            (w, k): q for w, k, q in s.execute(
                select(Reservation.warehouse_id, Reservation.sku_id, func.sum(Reservation.quantity))
                .where(Reservation.status == ReservationStatus.OPEN)
                .group_by(Reservation.warehouse_id, Reservation.sku_id)
            )
        }
        ledger = {
            (w, k): (on_hand, reserved) for w, k, on_hand, reserved in s.execute(
                select(StockMovement.warehouse_id, StockMovement.sku_id, func.sum(StockMovement.delta_on_hand),
                       func.sum(StockMovement.delta_reserved))
                .group_by(StockMovement.warehouse_id, StockMovement.sku_id)
            )
        }
        stock = s.scalars(select(Stock)).all()
        assert {(r.warehouse_id, r.sku_id) for r in stock} == set(ledger)
        for row in stock:
            key = (row.warehouse_id, row.sku_id)
            assert row.reserved == open_reserved.get(key, 0), key
            assert (row.on_hand, row.reserved) == ledger[key], key
            assert 0 <= row.reserved <= row.on_hand
        assert sum(open_reserved.values()) > 0
        assert s.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.kind == "shipment")) > 0


def test_if_empty_does_nothing_when_orders_exist_and_a_rerun_adds_nothing(ordo, database):
    load(ordo, orders=25)
    counts = database.row_counts()
    assert counts["orders"] == 25
    assert "already exist" in load(ordo, orders=25, if_empty=True)
    assert database.row_counts() == counts
    # Without --if-empty the same seed at the same moment finds every order already there.
    output = load(ordo, orders=25)
    assert "25 orders were already there" in output
    assert database.row_counts() == counts


def test_the_same_seed_gives_the_same_orders(ordo, database):
    def snapshot():
        with ordo.reading() as uow:
            return uow.session.execute(
                select(Order.number, Order.external_id, Order.status, Order.total).order_by(Order.number)
            ).all()

    load(ordo, orders=25, seed=11)
    first = snapshot()
    database.empty()
    load(ordo, orders=25, seed=11)
    assert snapshot() == first
    database.empty()
    load(ordo, orders=25, seed=12)
    assert snapshot() != first


def test_with_allocation_left_to_people_confirmed_orders_appear_too(ordo):
    review = ordo.policy.review.model_copy(update={"auto_allocate": False})
    manual = Ordo(ordo.settings, clock=ordo.clock, policy=ordo.policy.model_copy(update={"review": review}),
                  engine=ordo.engine)
    load(manual, orders=60)
    with ordo.reading() as uow:
        statuses = set(uow.session.scalars(select(Order.status).distinct()))
        allocated_by = set(uow.session.scalars(select(Event.actor).where(Event.name == "order.allocate")))
    assert statuses == {s.value for s in OrderStatus}
    assert "system" not in allocated_by
