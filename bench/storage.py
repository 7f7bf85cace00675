"""Storage benchmark: bytes per order on PostgreSQL, with everything an order leaves behind.

    python bench/storage.py --orders 1000000 --sample 2000 --database-url URL [--keep]

1. Sample: ``--sample`` orders go through the real code. The demo's stories (``ordo.demo``: shops,
   SKUs in four warehouses, repeat customers, 1–4 lines, payments, holds, cancellations,
   backorders, scans, packing, cross-border legs) are played with the default policy — unlike
   ``ordo demo``, the review and risk rules are on, so every order gets its risk keys and the
   ones the rules send to people get a review case, which a reviewer takes 10–40 minutes later
   (asking the customer first where an answer settles a finding). A worker runs
   every ``WORKER_EVERY`` (outbox delivered, SLA breaches, silent customers, stalled parcels)
   and the carrier reports each parcel on the way (in-transit movements, out for delivery,
   delivered) through the tracking API, as an integrated carrier would.
2. Copies: the sample's schema is set aside, a fresh one migrated, and the sample copied into it
   with ``INSERT … SELECT`` until there are ``--orders`` orders. Copy k moves every id by k times
   the table's largest id (foreign keys and the polymorphic ``entity_id`` likewise), every
   timestamp by k times the sample's span, order numbers by the same number of days, and
   rewrites the other unique or indexed texts (external ids, phones, e-mails, accounts, risk
   digests, outbox keys) to values of the same length, so that every constraint holds and no
   index sees more duplicates than real traffic would give it.
3. ``VACUUM ANALYZE``, then per table: rows, heap, TOAST, indexes, per order. Measured for the
   sample as the code left it (VACUUM leaves the space of its updated rows' old versions free
   for later rows, but in a month-old sample nothing has reused it yet), for the sample copied
   once (packed, as every copy is), at ``--checkpoint`` orders and at ``--orders``. Prints one
   JSON line.

Without ``--keep`` the scratch database is dropped at the end.
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from intake import scratch_database

from ordo.auth.model import Actor, Role
from ordo.bootstrap import Ordo
from ordo.demo.catalog import StockProfile, build_catalog
from ordo.demo.loader import PROMOTION, RESTOCKS, STATUS_ORDER, Simulation, load_reference
from ordo.demo.people import make_customers
from ordo.demo.stories import HORIZON, SHIPMENT_ACTIONS, Planner, Story, place
from ordo.fulfillment.states import MOVING
from ordo.fulfillment.tables import Shipment
from ordo.kernel.clock import FixedClock
from ordo.kernel.errors import OrdoError
from ordo.notify.worker import claim, report
from ordo.order.actions import OrderAction
from ordo.order.states import OrderStatus
from ordo.order.tables import Order
from ordo.policy import Policy
from ordo.review import handlers as review
from ordo.review.tables import ReviewCase, ReviewContact, ReviewFinding
from ordo.settings import Settings
from ordo.shipping.handlers import track
from ordo.shipping.tracking import TrackingKind
from ordo.sla.handlers import progress_check, scan

S, A = OrderStatus, OrderAction

# --- the sample: the demo's stories through the real code, with the review rules on -------------

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WORKER_EVERY = timedelta(hours=1)
REVIEWERS = ("reviewer1", "reviewer2")  # the first and (for two-level cases) the second approver
HUBS = ("上海转运中心", "杭州分拨中心", "广州转运中心", "北京顺义集散中心", "武汉转运中心", "成都转运中心")
# Story steps the carrier reports through the tracking API instead of a person clicking them.
CARRIER_STEPS = {A.OUT_FOR_DELIVERY: TrackingKind.OUT_FOR_DELIVERY, A.DELIVER: TrackingKind.DELIVERED}


class Traffic(Simulation):
    """The demo simulation as production would see it: the review rules screen every order and
    the reviewers work the cases they open, a worker runs, the carrier reports parcels. A step the
    code refuses (the rules took the order elsewhere than the story expected) ends that story."""

    def __init__(self, *args: Any, seed: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.refused: Counter[str] = Counter()
        self.queued: set[int] = set()  # stories whose order waits for a reviewer
        self.reviewed = 0
        self.carrier_events = 0

    # -- processes

    def order(self, story: Story) -> Iterator[timedelta]:
        try:
            yield from self._play(story)
        except OrdoError as exc:
            self.refused[exc.key] += 1

    def _play(self, story: Story) -> Iterator[timedelta]:
        status = self._intake(story)
        if status is None:
            return
        moving = False
        for step in story.steps:
            self._queue_review(story)
            yield step.wait
            status = self._status(story)  # the worker or the carrier may have moved it meanwhile
            if step.leg is not None:
                if status not in (S.IN_FULFILLMENT, S.SHIPPED):
                    self.diverged += 1
                    return
                status = self._record_leg(story, step)
            else:
                action = OrderAction(step.action)
                if action in CARRIER_STEPS:
                    status = self._report(story, CARRIER_STEPS[action])
                    continue
                if status == S.BACKORDERED and action in SHIPMENT_ACTIONS:
                    status = yield from self._await_stock(story)
                    if status != S.ALLOCATED:
                        return
                if not self._allowed(action, status) and self._in_review(story):
                    status = self._review(story)
                if action == A.CONFIRM and not self._allowed(action, status) and status != S.CANCELLED:
                    continue  # the reviewers have confirmed it already
                if not self._allowed(action, status):
                    self.diverged += 1
                    return
                status = self._act(story, action, step.actor, step.body)
            if status == S.SHIPPED and not moving:
                moving = True
                self.start(self.clock.now(), self._movements(story))

    def _queue_review(self, story: Story) -> None:
        if story.index not in self.queued and self._in_review(story):
            self.queued.add(story.index)
            self.start(self.clock.now(), self._reviewer(story))

    def _reviewer(self, story: Story) -> Iterator[timedelta]:
        """A reviewer takes a queued order 10–40 minutes after it was queued."""
        yield timedelta(minutes=random.Random(f"{self.seed}:review:{story.index}").uniform(10, 40))
        self.queued.discard(story.index)
        if self._in_review(story):
            try:
                self._review(story)
            except OrdoError as exc:
                self.refused[exc.key] += 1

    def _movements(self, story: Story) -> Iterator[timedelta]:
        """In-transit scans at the carrier's hubs every 6–18 hours while a parcel moves."""
        rng = random.Random(f"{self.seed}:carrier:{story.index}")
        while True:
            yield timedelta(hours=rng.uniform(6, 18))
            if not self._moving(story):
                return
            for number in self._moving(story):
                self._track(story, number, TrackingKind.IN_TRANSIT, location=rng.choice(HUBS))

    def worker(self, every: timedelta) -> Iterator[timedelta]:
        """What `ordo worker` does each round (the tracking pull has nothing to pull: the carriers
        are manual ones, whose events come through the tracking API)."""
        while True:
            yield every
            assert self.uow is not None
            uow = self.uow
            for job in (scan, progress_check, review.scan_silent):  # the SLA scan flags stalled parcels
                with uow.session.begin_nested():
                    job(uow)
            for claimed in claim(uow):
                report(uow, claimed=claimed, error=None)

    # -- steps

    def _act(self, story: Story, action: OrderAction, actor: str, body: dict[str, object]) -> str:
        assert self.uow is not None
        with self.uow.session.begin_nested():
            return super()._act(story, action, actor, body)

    def _record_leg(self, story: Story, step: Any) -> str:
        assert self.uow is not None
        with self.uow.session.begin_nested():
            return super()._record_leg(story, step)

    def _status(self, story: Story) -> str:
        assert self.uow is not None
        return self.uow.session.scalars(select(Order.status).where(Order.number == story.number)).one()

    def _shipments(self, story: Story, statuses: tuple[str, ...]) -> list[str]:
        assert self.uow is not None
        return list(self.uow.session.scalars(
            select(Shipment.number).join(Order, Order.id == Shipment.order_id)
            .where(Order.number == story.number, Shipment.status.in_(statuses),
                   Shipment.tracking_number.is_not(None)).order_by(Shipment.id)))

    def _moving(self, story: Story) -> list[str]:
        return self._shipments(story, tuple(MOVING))

    def _track(self, story: Story, shipment: str, kind: TrackingKind, location: str | None = None) -> bool:
        assert self.uow is not None
        carrier = Actor(name="carrier", roles=frozenset({Role.LOGISTICS}))
        try:
            with self.uow.session.begin_nested():
                track(self.uow, number=shipment, kind=kind, at=self.clock.now(), location=location, note=None,
                      actor=carrier)
        except OrdoError:
            return False
        self.carrier_events += 1
        return True

    def _report(self, story: Story, kind: TrackingKind) -> str:
        """Out for delivery / delivered, for every parcel of the order that can take it."""
        for number in self._moving(story):
            self._track(story, number, kind)
        return self._status(story)

    def _in_review(self, story: Story) -> bool:
        assert self.uow is not None
        return self.uow.session.scalar(
            select(ReviewCase.id).join(Order, Order.id == ReviewCase.order_id)
            .where(Order.number == story.number, ReviewCase.status == "open")) is not None

    def _review(self, story: Story) -> str:
        """A reviewer takes the case: asks the customer first when a finding is settled by an
        answer, then approves (a second reviewer too when the case needs two levels)."""
        assert self.uow is not None and story.number is not None
        uow, number = self.uow, story.number
        first, second = (self.actors[name] for name in REVIEWERS)
        with uow.session.begin_nested():
            order_id = uow.session.scalars(select(Order.id).where(Order.number == number)).one()
            ask = uow.session.scalar(select(ReviewFinding.id).where(
                ReviewFinding.order_id == order_id, ReviewFinding.cleared_at.is_(None),
                ReviewFinding.cleared_by_contact.is_(True)).limit(1))
            asked = uow.session.scalar(select(ReviewContact.id).where(ReviewContact.order_id == order_id).limit(1))
            if ask is not None and asked is None:
                review.contact(uow, number=number, actor=first, channel="phone", note="电话核实订单信息")
                review.answer(uow, number=number, actor=first, note="客户确认订单无误")
            for reviewer in (first, second):
                if self._in_review(story):
                    review.claim(uow, number=number, actor=reviewer)
                    review.approve(uow, number=number, actor=reviewer, note="人工审核通过")
        self.reviewed += 1
        return self._status(story)


def build_sample(url: str, orders: int, *, seed: int = 2026, worker_every: timedelta = WORKER_EVERY) -> dict[str, Any]:
    """``orders`` demo stories over the four weeks before NOW; returns what happened to them."""
    policy = Policy()
    clock = FixedClock(NOW - HORIZON - timedelta(days=2))
    app = Ordo(Settings(database_url=url), clock=clock, policy=policy)
    tz = ZoneInfo(policy.business_timezone)
    rng = random.Random(seed)
    skus = build_catalog(rng)
    customers = make_customers(rng, max(40, orders * 2 // 5))
    stories = Planner(rng=rng, seed=seed, policy=policy, skus=skus, customers=customers).stories(orders)
    targets = [s.value for s in STATUS_ORDER if s != S.CONFIRMED or not policy.review.auto_allocate]
    place(stories, rng=rng, now=NOW, tz=tz, targets=targets, anchors_per_state=max(1, min(3, orders // 200)),
          promotion=PROMOTION)
    with app.transaction() as uow:
        ref = load_reference(uow, rng=rng, skus=skus, customers=customers, orders=orders)
    sim = Traffic(app, clock, ref, now=NOW, tz=tz, seed=seed)
    scarce = [s for s in skus if s.profile == StockProfile.SCARCE]
    sim.start(NOW - RESTOCKS[0], sim.restock(scarce, random.Random(f"{seed}:restock")))
    for story in sorted(stories, key=lambda s: (s.at, s.index)):
        assert story.at is not None
        sim.start(story.at, sim.order(story))
    sim.start(clock.now() + worker_every, sim.worker(worker_every))
    sim.run(lambda at: None)
    app.dispose()
    return {"created": sim.created, "diverged": sim.diverged, "refused": dict(sim.refused),
            "reviewed": sim.reviewed, "carrier_events": sim.carrier_events}


# --- the copies -------------------------------------------------------------------------------------

SAMPLE = "sample"  # the schema the sample is set aside in
# Tables whose rows grow with orders, and which of their rows do (None: all). The rest are left
# out: events of shops, SKUs and warehouses, time-driven outbox messages (progress reports,
# calendar alerts) and stock receipts (purchasing, not orders).
PER_ORDER: dict[str, str | None] = {
    "customers": None, "orders": None, "order_lines": None, "order_holds": None, "coupons": None,
    "shipments": None, "shipment_lines": None, "shipment_scans": None, "shipment_shipping": None, "parcels": None,
    "shipment_legs": None, "tracking_events": None, "followup_tasks": None, "reservations": None,
    "stock_movements": "s.kind <> 'receipt'", "pick_lists": None, "pick_list_shipments": None,
    "pick_list_stops": None, "review_cases": None, "review_findings": None, "review_contacts": None,
    "risk_keys": None, "events": "s.order_id IS NOT NULL", "outbox": "s.order_id IS NOT NULL",
    "sla_clocks": "s.order_id IS NOT NULL",
}
# Reference data and rows that grow with time rather than orders: copied once, not counted (backorder
# notes live from a restock's commit to its serving: none at rest).
REFERENCE = frozenset({
    "alembic_version", "api_tokens", "backorder_wakeups", "blacklist_entries", "calendar_overrides",
    "order_number_counters", "reference_generation", "reorder_alerts", "review_rule_sets", "shops", "skus",
    "stock", "users", "warehouse_layouts", "warehouses",
})
# Tables the migrations fill themselves: not copied.
MIGRATED = frozenset({"alembic_version", "reference_generation"})
# What ``entity_id`` points at, by ``entity``.
ENTITIES = {
    "events": {"order": "orders", "payment": "orders", "shipment": "shipments", "customer": "customers",
               "followup": "followup_tasks", "pick_list": "pick_lists"},
    "sla_clocks": {"order": "orders", "shipment": "shipments"},
}
# Ids kept without a foreign key (the outbox and the clocks outlive nothing, but are not tied down).
LOOSE = {("outbox", "order_id"): "orders", ("sla_clocks", "order_id"): "orders"}
CHUNK_ORDERS = 50_000  # orders per transaction while copying

FUNCTIONS = f"""
CREATE FUNCTION {SAMPLE}.shift_number(n text, days int) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT to_char(to_date(left(n, 8), 'YYYYMMDD') + days, 'YYYYMMDD') || substr(n, 9) $$;
CREATE FUNCTION {SAMPLE}.suffix(v text, code bigint, width int) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT left(v, greatest(length(v) - width, 0)) || lpad(code::text, width, '0') $$;
CREATE FUNCTION {SAMPLE}.suffix_local(v text, code bigint, width int) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT {SAMPLE}.suffix(split_part(v, '@', 1), code, width) || substr(v, strpos(v, '@')) $$;
CREATE FUNCTION {SAMPLE}.scramble(v text, k int) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT CASE WHEN k = 0 THEN v ELSE left(md5(v || ':' || k), length(v)) END $$;
"""


def set_aside(engine: Any) -> None:
    """Move the sample to its own schema and migrate a fresh, empty ``public`` beside it."""
    from ordo.adapters.db.migrate import upgrade

    with engine.begin() as conn:
        conn.execute(text(f"ALTER SCHEMA public RENAME TO {SAMPLE}"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text(FUNCTIONS))
    upgrade(engine)


class Copier:
    """Copies k = 0, 1, … of the sample into ``public``: ids moved by k × the table's largest id,
    timestamps and order-number dates by k × the sample's span in days, the other unique or
    indexed texts rewritten to values of the same length that are unique per copy."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        with engine.connect() as conn:
            tables = set(conn.scalars(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE'"
            ), {"s": SAMPLE}))
            unknown = tables - set(PER_ORDER) - REFERENCE
            if unknown:  # a new table: decide whether it grows with orders before measuring
                raise RuntimeError(f"tables neither per order nor reference: {', '.join(sorted(unknown))}")
            self.columns: dict[str, list[tuple[str, str]]] = {}
            for table, column, kind in conn.execute(text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = :s "
                "ORDER BY table_name, ordinal_position"), {"s": SAMPLE}):
                self.columns.setdefault(table, []).append((column, kind))
            self.fks: dict[str, dict[str, str]] = {}
            for table, column, target in conn.execute(text(
                "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "WHERE c.contype = 'f' AND c.connamespace = CAST(:s AS regnamespace)"), {"s": SAMPLE}):
                self.fks.setdefault(table.split(".")[-1], {})[column] = target.split(".")[-1]
            for (table, column), target in LOOSE.items():
                self.fks.setdefault(table, {}).setdefault(column, target)
            unmapped = [f"{t}.{c}" for t in PER_ORDER for c, kind in self.columns.get(t, ())
                        if c.endswith("_id") and kind in ("integer", "bigint") and c not in self.fks.get(t, {})
                        and not (t in ENTITIES and c == "entity_id")]
            if unmapped:  # an id the copies would leave pointing into the first copy
                raise RuntimeError(f"ids without a known target: {', '.join(unmapped)}")
            self.offset = {t: conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {SAMPLE}.{t}")) or 0
                           for t in PER_ORDER if any(c == "id" for c, _ in self.columns.get(t, ()))}
            first, last = conn.execute(text(
                f"SELECT min(left(number, 8)), max(left(number, 8)) FROM {SAMPLE}.orders")).one()
            self.orders = conn.scalar(text(f"SELECT count(*) FROM {SAMPLE}.orders")) or 0
            for table, kinds in ENTITIES.items():
                seen = set(conn.scalars(text(
                    f"SELECT DISTINCT entity FROM {SAMPLE}.{table} s WHERE {PER_ORDER[table] or 'true'}")))
                if seen - set(kinds):
                    raise RuntimeError(f"{table}: entity_id of unknown kinds {', '.join(sorted(seen - set(kinds)))}")
        # The sample's business days; copy k lies k spans later, so order numbers stay unique.
        self.span = (datetime.strptime(last, "%Y%m%d") - datetime.strptime(first, "%Y%m%d")).days + 1
        self.copies = 0

    def widths(self, copies: int) -> dict[str, int]:
        return {t: len(str(self.offset.get(t, 0) * copies)) for t in ("orders", "customers")}

    def _moved(self, table: str, column: str, k: str = "k") -> str:
        return f"s.{column} + {k} * {self.offset[table]}"

    def expression(self, table: str, column: str, kind: str, width: dict[str, int]) -> str:
        c, o = width["customers"], width["orders"]
        special = {
            ("orders", "number"): f"{SAMPLE}.shift_number(s.number, k * {self.span})",
            ("shipments", "number"): f"{SAMPLE}.shift_number(s.number, k * {self.span})",
            ("orders", "external_id"): f"{SAMPLE}.suffix(s.external_id, {self._moved('orders', 'id')}, {o})",
            ("orders", "phone"): f"{SAMPLE}.suffix(s.phone, {self._moved('customers', 'customer_id')}, {c})",
            ("orders", "email"): f"{SAMPLE}.suffix_local(s.email, {self._moved('customers', 'customer_id')}, {c})",
            ("orders", "account"): f"{SAMPLE}.suffix(s.account, {self._moved('customers', 'customer_id')}, {c})",
            ("customers", "phone"): f"{SAMPLE}.suffix(s.phone, {self._moved('customers', 'id')}, {c})",
            ("customers", "email"): f"{SAMPLE}.suffix_local(s.email, {self._moved('customers', 'id')}, {c})",
            ("customers", "account"): f"{SAMPLE}.suffix(s.account, {self._moved('customers', 'id')}, {c})",
            ("risk_keys", "digest"): f"{SAMPLE}.scramble(s.digest, k)",
            ("pick_lists", "number"): f"{SAMPLE}.scramble(s.number, k)",
            ("shipments", "tracking_number"): f"{SAMPLE}.scramble(s.tracking_number, k)",
            # Keys name the order or shipment, or the SLA clock they alert about.
            ("outbox", "key"): (
                r"CASE WHEN s.key ~ '^sla\.(breached|escalated):[0-9]+$' THEN split_part(s.key, ':', 1) || ':' || "
                f"(split_part(s.key, ':', 2)::bigint + k * {self.offset['sla_clocks']}) "
                f"ELSE replace(s.key, o.number, {SAMPLE}.shift_number(o.number, k * {self.span})) END"),
        }
        if (table, column) in special:
            return special[(table, column)]
        if table in ENTITIES and column == "entity_id":
            cases = " ".join(f"WHEN '{e}' THEN {self._moved(t, 'entity_id')}" for e, t in ENTITIES[table].items())
            return f"CASE s.entity {cases} END"
        if column == "id" and table in self.offset:
            return self._moved(table, "id")
        target = self.fks.get(table, {}).get(column)
        if target in self.offset:
            return self._moved(target, column)
        if kind == "timestamp with time zone":
            return f"s.{column} + make_interval(days => k * {self.span})"
        return f"s.{column}"

    def reference(self) -> None:
        """Reference data once, as it is (the copies point at it)."""
        with self.engine.begin() as conn:
            for table in self._ordered(REFERENCE - MIGRATED):
                names = ", ".join(c for c, _ in self.columns[table])
                conn.execute(text(f"INSERT INTO public.{table} ({names}) SELECT {names} FROM {SAMPLE}.{table}"))
            self._sequences(conn, REFERENCE)

    def copy(self, start: int, stop: int, total: int) -> None:
        """Copies ``start`` … ``stop - 1`` (of ``total``), parents before children, in id order."""
        width = self.widths(total)
        with self.engine.begin() as conn:
            for table in self._ordered(set(PER_ORDER)):
                names = [c for c, _ in self.columns[table]]
                values = ", ".join(self.expression(table, c, kind, width) for c, kind in self.columns[table])
                join = f" LEFT JOIN {SAMPLE}.orders o ON o.id = s.order_id" if table == "outbox" else ""
                order = f"k, s.{names[0]}"
                conn.execute(text(
                    f"INSERT INTO public.{table} ({', '.join(names)}) SELECT {values} FROM {SAMPLE}.{table} s{join} "
                    f"CROSS JOIN generate_series({start}, {stop - 1}) AS k WHERE {PER_ORDER[table] or 'true'} "
                    f"ORDER BY {order}"))
            self._sequences(conn, set(PER_ORDER))
        self.copies = stop

    def _ordered(self, tables: set[str]) -> list[str]:
        """Parents before children (foreign keys between the given tables)."""
        done: list[str] = []
        pending = sorted(t for t in tables if t in self.columns)
        while pending:
            ready = [t for t in pending if all(p in done or p == t or p not in pending
                                               for p in self.fks.get(t, {}).values())]
            done += ready
            pending = [t for t in pending if t not in ready]
        return done

    def _sequences(self, conn: Any, tables: set[str]) -> None:
        for table in tables:
            if any(c == "id" for c, _ in self.columns.get(table, ())):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('public.{table}', 'id'), "
                    f"greatest((SELECT max(id) FROM public.{table}), 1))"))


# --- measuring ------------------------------------------------------------------------------------

SIZES = """
SELECT c.relname, pg_relation_size(c.oid), coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),
       pg_indexes_size(c.oid), pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
"""


def measure(engine: Any) -> dict[str, Any]:
    """``VACUUM ANALYZE``, then rows and bytes of every table in ``public``, and per order for
    the tables that grow with orders."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        names = list(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        conn.execute(text(f"VACUUM ANALYZE {', '.join(f'public.{n}' for n in names)}"))
        tables: dict[str, dict[str, Any]] = {}
        for name, heap, toast, indexes, total in conn.execute(text(SIZES)):
            rows = conn.scalar(text(f"SELECT count(*) FROM public.{name}"))
            tables[name] = {"rows": rows, "heap": heap, "toast": toast, "indexes": indexes, "total": total}
    orders = tables["orders"]["rows"]
    counted = {n: t for n, t in tables.items() if n in PER_ORDER}
    for t in counted.values():
        t["rows_per_order"] = round(t["rows"] / orders, 3)
        t["bytes_per_order"] = round(t["total"] / orders, 1)

    def per_order(key: str) -> float:
        return round(sum(t[key] for t in counted.values()) / orders, 1)

    return {
        "orders": orders, "bytes_per_order": per_order("total"), "heap_bytes_per_order": per_order("heap"),
        "index_bytes_per_order": per_order("indexes"), "toast_bytes_per_order": per_order("toast"),
        "rows_per_order": round(sum(t["rows"] for t in counted.values()) / orders, 2),
        "tables": dict(sorted(counted.items(), key=lambda kv: -kv[1]["total"])),
        "not_counted": {n: {"rows": t["rows"], "total": t["total"]} for n, t in sorted(tables.items())
                        if n not in PER_ORDER},
    }


def _summary(label: str, m: dict[str, Any]) -> dict[str, Any]:
    return {"at": label, **{k: m[k] for k in ("orders", "bytes_per_order", "heap_bytes_per_order",
                                              "index_bytes_per_order", "toast_bytes_per_order", "rows_per_order")},
            "tables": {n: t["bytes_per_order"] for n, t in m["tables"].items()}}


def run(url: str, *, orders: int, sample: int, checkpoint: int | None = None, seed: int = 2026,
        worker_every: timedelta = WORKER_EVERY, progress: Any = None) -> dict[str, Any]:
    """The whole benchmark on a migrated, empty PostgreSQL database at ``url``."""
    say = progress or (lambda message: None)
    from ordo.adapters.db.engine import make_engine

    started = time.perf_counter()
    story = build_sample(url, sample, seed=seed, worker_every=worker_every)
    built = time.perf_counter() - started
    engine = make_engine(url)
    try:
        as_built = measure(engine)
        say(f"sample of {as_built['orders']} orders built in {built:.0f} s: {as_built['bytes_per_order']} B/order")
        set_aside(engine)
        copier = Copier(engine)
        copies = max(1, round(orders / copier.orders))
        copier.reference()
        stops = {1, copies} | set(range(1, copies, max(1, CHUNK_ORDERS // copier.orders)))
        marks = {1: "packed sample"}
        if checkpoint and copier.orders < checkpoint < copies * copier.orders:
            stops.add(checkpoint // copier.orders)
            marks[checkpoint // copier.orders] = f"{checkpoint // copier.orders * copier.orders} orders"
        scaling = [_summary("sample as built", as_built)]
        copy_started = time.perf_counter()
        start = 0
        for stop in sorted(stops):
            copier.copy(start, stop, copies)
            start = stop
            say(f"{stop * copier.orders} orders ({time.perf_counter() - copy_started:.0f} s)")
            if stop in marks and stop != copies:
                scaling.append(_summary(marks[stop], measure(engine)))
        copied = time.perf_counter() - copy_started
        final = measure(engine)
        with engine.connect() as conn:
            version = conn.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()
    return {
        "bench": "storage", "database": "postgresql", "server_version": version, **final,
        "sample_orders": copier.orders, "copies": copies, "span_days": copier.span,
        "scaling": scaling, "sample": story, "build_s": round(built, 1), "copy_s": round(copied, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# --- the command ----------------------------------------------------------------------------------


@contextmanager
def _database(url: str, keep: bool) -> Iterator[str]:
    """A scratch database on the server of ``url``; kept (and named) with ``keep``."""
    if make_url(url).get_backend_name() != "postgresql":
        raise typer.BadParameter("a PostgreSQL URL", param_hint="--database-url")
    if not keep:
        with scratch_database(url) as scratch:
            yield scratch
        return
    from ordo.adapters.db.engine import make_engine
    from ordo.adapters.db.migrate import upgrade

    name = f"ordo_storage_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(scratch)
    upgrade(engine)
    engine.dispose()
    print(f"kept: {make_url(scratch).render_as_string()}", file=sys.stderr)
    yield scratch


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(orders: int = typer.Option(1_000_000, help="Orders at the end (a whole number of copies of the sample)"),
         sample: int = typer.Option(2000, help="Orders played through the real code"),
         database_url: str = typer.Option(..., help="PostgreSQL server; a scratch database is made there"),
         checkpoint: int = typer.Option(100_000, help="Also measure at this many orders on the way"),
         keep: bool = typer.Option(False, help="Keep the scratch database (its name goes to stderr)"),
         seed: int = typer.Option(2026, help="Random seed of the demo stories")) -> None:
    commit = _commit()  # the code that runs, whatever is committed meanwhile
    with _database(database_url, keep) as url:
        result = run(url, orders=orders, sample=sample, checkpoint=checkpoint, seed=seed,
                     progress=lambda message: print(message, file=sys.stderr, flush=True))
    print(json.dumps({**result, "commit": commit, "python": platform.python_version(),
                      "machine": f"{platform.machine()} {os.cpu_count()} cpus",
                      "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    typer.run(main)
