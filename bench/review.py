"""Review benchmark: intake with every review and risk rule enabled, on top of a history of N
existing orders, to show that the risk look-ups stay bounded by their time windows.

    python bench/review.py run --existing 10000 --orders 1000 [--database-url URL]
    python bench/review.py compare --small 10000 --large 1000000 --orders 1000 --batch 100 [--database-url URL]

The history is bulk-loaded so that both sizes do the same work per measured order: ten orders per
customer; the 500 "hot" customers the measured orders come back as have exactly one order in the
last 30 minutes, one more in the last 24 hours and one cancellation in the last 7 days, whatever
the size; all other orders lie in the year before. Cancellations (1 in 20) and blacklist rows
(1 per 100 orders) grow in proportion. Half of the measured orders are hot customers, half are
new. ``compare`` loads both databases against the same instant, then measures them in
alternating batches (the order swapped every round) so machine load falls on both alike.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import typer
from intake import Result, scratch_database, seed
from sqlalchemy import func, insert, select, text

from ordo.adapters.db.engine import make_engine
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.channel.tables import Shop
from ordo.customer.tables import Customer
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order, OrderLine
from ordo.policy import Policy
from ordo.review import rules as pure
from ordo.review.model import BlacklistKind, KeyKind
from ordo.review.tables import BlacklistEntry, RiskKey
from ordo.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True)
CHUNK = 5_000
POLICY = Policy()


HOT = 500  # history customers the measured orders come back as (one measured order each)
YEAR = timedelta(days=365)


def phone_of(customer: int) -> str:
    return f"+86137{customer:08d}"


def street_of(customer: int) -> str:
    return f"人民路{customer}号"


def history_times(k: int, c: int, customers: int, t0: datetime) -> datetime:
    """When customer ``c`` placed its ``k``-th of ten orders. A hot customer (``c < HOT``) has
    exactly one order in the last 30 minutes and one more in the last 24 hours, whatever the size
    of the history; everything else is spread over the year before the longest window (8 days), so
    each rule's window holds the same rows per looked-up key at 10 k and at 1 M."""
    if c < HOT and k == 8:
        return t0 - timedelta(minutes=10)
    if c < HOT and k == 9:
        return t0 - timedelta(hours=6)
    span = (YEAR - timedelta(days=8)).total_seconds()
    slot = (k * customers + c) / (10 * customers)
    return t0 - YEAR + timedelta(seconds=int(span * slot))


def load_history(url: str, existing: int, t0: datetime) -> None:
    """``existing`` orders (ten per customer), with their risk keys; every 20th is a cancellation
    with its cancel key (hot customers: one of them in the last 7 days), and one blacklist row
    per 100 orders (phones and addresses of cold customers) — all in proportion to the size."""
    customers = max(HOT, existing // 10)
    engine = make_engine(url)
    with engine.begin() as conn:
        shop_id = conn.execute(select(Shop.id)).scalar_one()
        sku_id, sku_code = conn.execute(text_sku()).one()
        for start in range(0, customers, CHUNK):
            conn.execute(insert(Customer), [
                {"name": "历史客户", "phone": phone_of(c), "email": None, "account": None, "vip_level": 0,
                 "created_at": t0 - timedelta(days=400)}
                for c in range(start, min(customers, start + CHUNK))
            ])
        first_customer = conn.execute(select(Customer.id).order_by(Customer.id).limit(1)).scalar_one()
        blacklist = []
        for b in range(existing // 100):
            c = customers - 1 - b // 2
            kind, value = ((BlacklistKind.PHONE, phone_of(c)) if b % 2 == 0 else
                           (BlacklistKind.ADDRESS, address_of(c)))
            blacklist.append({"kind": kind.value, "value": value, "digest": pure.digest(value),
                              "reason": "bench", "added_by": "bench", "added_at": t0 - timedelta(days=30)})
        for start in range(0, len(blacklist), CHUNK):
            conn.execute(insert(BlacklistEntry), blacklist[start:start + CHUNK])
    total = customers * 10
    for start in range(0, total, CHUNK):
        rows, keys = [], []
        for i in range(start, min(total, start + CHUNK)):
            k, c = divmod(i, customers)
            at = history_times(k, c, customers, t0)
            cancelled = (k * customers + c) % 20 == 0 or (c < HOT and k == 7)
            cancelled_at = t0 - timedelta(days=2) if c < HOT and k == 7 else at + timedelta(hours=1)
            rows.append({
                "number": f"H{i:010d}", "shop_id": shop_id, "channel": "api", "external_id": f"H-{i}",
                "account": None, "customer_id": first_customer + c, "customer_name": "历史客户", "phone": phone_of(c),
                "email": None, "vip_level": 0, "country": "CN", "province": "上海市", "city": "上海市",
                "district": "黄浦区", "street": street_of(c), "postcode": "200001", "remote_area": False,
                "currency": "CNY", "goods_total": Decimal("10.00"), "shipping_fee": Decimal("0"),
                "discounts": Decimal("0"), "total": Decimal("10.00"), "payment_method": "alipay",
                "payment_status": "paid", "amount_paid": Decimal("10.00"), "service_type": "domestic_express",
                "order_class": "normal", "remark": None, "status": "cancelled" if cancelled else "completed",
                "status_before_hold": None, "payload_hash": "h", "payload": {}, "version": 1, "placed_at": at,
                "created_at": at, "updated_at": at,
            })
            digests = {KeyKind.ACCOUNT: pure.digest(f"customer:{first_customer + c}"),
                       KeyKind.ADDRESS: pure.digest(address_of(c)), KeyKind.PHONE: pure.digest(phone_of(c))}
            keys.append((i, at, digests, cancelled_at if cancelled else None))
        with engine.begin() as conn:
            conn.execute(insert(Order), rows)
            ids = dict(conn.execute(
                select(Order.number, Order.id).where(Order.number.in_([r["number"] for r in rows]))
            ).all())
            lines, risk = [], []
            for i, at, digests, cancelled_at in keys:
                order_id = ids[f"H{i:010d}"]
                lines.append({"order_id": order_id, "line_no": 1, "sku_id": sku_id, "sku_code": sku_code,
                              "name": "Bench", "quantity": 1, "unit_price": Decimal("10.00"),
                              "amount": Decimal("10.00")})
                risk.extend({"kind": kind.value, "digest": d, "order_id": order_id, "at": at}
                            for kind, d in digests.items())
                if cancelled_at is not None:
                    risk.append({"kind": KeyKind.CANCEL.value, "digest": digests[KeyKind.ACCOUNT],
                                 "order_id": order_id, "at": cancelled_at})
            conn.execute(insert(OrderLine), lines)
            conn.execute(insert(RiskKey), risk)
    # A bulk load leaves the planner without statistics until autovacuum comes by; give it them now,
    # as a database that grew over a year would have them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()


def address_of(c: int) -> str:
    return pure.normalise_address(country="CN", province="上海市", city="上海市", district="黄浦区",
                                  street=street_of(c), policy=POLICY.risk)


def text_sku() -> Any:
    from ordo.catalog.tables import Sku

    return select(Sku.id, Sku.code).order_by(Sku.id).limit(1)


def payload(i: int) -> dict[str, Any]:
    """Every other order comes back as a hot history customer (same phone, address and account
    digests are looked up); the others are new customers whose look-ups find nothing."""
    c = i // 2 if i % 2 == 0 else None
    return {
        "shop": "bench", "external_id": f"R-{i}",
        "customer": {"name": "张伟", "phone": phone_of(c) if c is not None else f"139{i:08d}"},
        "address": {"country": "CN", "province": "上海市", "city": "上海市", "district": "黄浦区",
                    "street": street_of(c) if c is not None else f"南京路{i}号", "postcode": "200001"},
        "lines": [{"sku": f"B-{(i * 7) % 50:03d}", "quantity": 1, "unit_price": "10.00"}],
        "total": "10.00", "currency": "CNY",
        "payment": {"method": "alipay", "status": "paid", "amount_paid": "10.00"},
        "service_type": "domestic_express",
    }


class ShiftedClock:
    """Real time moved back so that the measurement starts at ``t0``, the instant the history was
    generated against: however long the load took, the recent rows are as recent at both sizes."""

    def __init__(self, t0: datetime) -> None:
        self.t0, self.started = t0, time.perf_counter()

    def now(self) -> datetime:
        return self.t0 + timedelta(seconds=time.perf_counter() - self.started)


class Target:
    """One loaded database and its measured orders."""

    def __init__(self, url: str, existing: int, orders: int, t0: datetime) -> None:
        seed(url, stock=orders * 4)
        started = time.perf_counter()
        load_history(url, existing, t0)
        self.url, self.existing, self.t0 = url, existing, t0
        self.loaded = time.perf_counter() - started
        self.submissions = [OrderSubmission.model_validate(payload(i)) for i in range(orders)]
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.ordo: Ordo | None = None

    def start(self, clock: ShiftedClock) -> None:
        self.ordo = Ordo(Settings(database_url=self.url), clock=clock)
        for i in range(20):  # warm caches and code paths; not measured
            s = OrderSubmission.model_validate(payload(10_001 + 2 * i)).model_copy(update={"external_id": f"warm-{i}"})
            intake(self.ordo, submission=s, actor=Actor.system())

    def batch(self, start: int, size: int) -> None:
        assert self.ordo is not None
        actor = Actor.system()
        begin = time.perf_counter()
        for s in self.submissions[start:start + size]:
            t = time.perf_counter()
            intake(self.ordo, submission=s, actor=actor)
            self.latencies.append(time.perf_counter() - t)
        self.elapsed += time.perf_counter() - begin

    def result(self) -> dict[str, Any]:
        assert self.ordo is not None
        with self.ordo.reading() as uow:
            statuses = dict(uow.session.execute(
                select(Order.status, func.count()).where(Order.number.not_like("H%")).group_by(Order.status)
            ).all())
            # The history rows inside each rule's window (before the measurement began): the same
            # at every size, which is what makes the sizes comparable.
            recent = {
                label: uow.session.scalar(select(func.count()).select_from(RiskKey).where(
                    RiskKey.kind.in_(kinds), RiskKey.at >= self.t0 - window, RiskKey.at <= self.t0))
                for label, kinds, window in (
                    ("keys_30min", ("account", "address"), timedelta(minutes=30)),
                    ("keys_24h", ("phone", "address"), timedelta(hours=24)),
                    ("cancels_7d", ("cancel",), timedelta(days=7)),
                )
            }
        self.ordo.dispose()
        return {
            "bench": "review_intake", "database": self.url.split(":", 1)[0], "existing_orders": self.existing,
            **Result(orders=len(self.latencies), elapsed=self.elapsed, latencies=self.latencies).summary(),
            "history_load_s": round(self.loaded, 1), "measured_statuses": statuses, "history_in_windows": recent,
            "python": platform.python_version(),
        }


def interleaved(targets: list[Target], orders: int, batch: int) -> None:
    """Alternate batches between the targets (the order swapped every round), so machine load
    falls on all of them alike."""
    clock = ShiftedClock(targets[0].t0)
    for t in targets:
        t.start(clock)
    for r, start in enumerate(range(0, orders, batch)):
        for t in targets if r % 2 == 0 else reversed(targets):
            t.batch(start, batch)


def _check(orders: int) -> None:
    if orders > 2 * HOT:
        raise typer.BadParameter(f"at most {2 * HOT} measured orders (one per hot customer)")


@app.command()
def run(existing: int = 10_000, orders: int = 1_000, database_url: str | None = None) -> None:
    """One size alone."""
    _check(orders)
    t0 = datetime.now(UTC)
    with scratch_database(database_url) as url:
        target = Target(url, existing, orders, t0)
        interleaved([target], orders, orders)
        print(json.dumps(target.result()), flush=True)


@app.command()
def compare(small: int = 10_000, large: int = 1_000_000, orders: int = 1_000, batch: int = 100,
            database_url: str | None = None) -> None:
    """Both sizes loaded against the same instant, then measured in alternating batches of
    ``batch`` intakes; prints each and the ratio of the per-order cost at the large history."""
    _check(orders)
    t0 = datetime.now(UTC)
    with scratch_database(database_url) as url_small, scratch_database(database_url) as url_large:
        targets = [Target(url_small, small, orders, t0), Target(url_large, large, orders, t0)]
        interleaved(targets, orders, batch)
        results = [t.result() for t in targets]
    for r in results:
        print(json.dumps(r), flush=True)
    print(json.dumps({"bench": "review_scaling", "database": results[0]["database"], "small": small, "large": large,
                      "batch": batch, "rounds": -(-orders // batch),
                      "p50_ratio": round(results[1]["p50_ms"] / results[0]["p50_ms"], 3),
                      "mean_ratio": round(results[1]["mean_ms"] / results[0]["mean_ms"], 3),
                      "p95_ratio": round(results[1]["p95_ms"] / results[0]["p95_ms"], 3)}), flush=True)


if __name__ == "__main__":
    app()
