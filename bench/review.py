"""Review benchmark: intake with every review and risk rule enabled, on top of a history of N
existing orders, to show that the risk look-ups stay bounded by their time windows.

    python bench/review.py run --existing 10000 --orders 1000 [--database-url URL]
    python bench/review.py compare --small 10000 --large 1000000 --orders 1000 [--database-url URL]

The history is bulk-loaded (orders with a line and their risk keys, spread over the past year,
customers reused about ten times each); half of the measured orders share a phone, an address or
an account with that history, so the look-ups find rows. Each run prints one JSON line; compare
prints both and the ratio of the per-order cost at the large history to the small one.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import typer
from intake import Result, scratch_database, seed
from sqlalchemy import insert, select, text

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
from ordo.review.model import KeyKind
from ordo.review.tables import RiskKey
from ordo.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True)
CHUNK = 5_000
POLICY = Policy()


def phone_of(customer: int) -> str:
    return f"+86137{customer:08d}"


def street_of(customer: int) -> str:
    return f"人民路{customer}号"


def load_history(url: str, existing: int) -> None:
    """``existing`` completed orders over the past year, bulk-inserted with their keys."""
    ordo = Ordo(Settings(database_url=url))
    now = ordo.clock.now()
    customers = max(1, existing // 10)
    engine = make_engine(url)
    with engine.begin() as conn:
        shop_id = conn.execute(select(Shop.id)).scalar_one()
        sku_id, sku_code = conn.execute(text_sku()).one()
        for start in range(0, customers, CHUNK):
            conn.execute(insert(Customer), [
                {"name": "历史客户", "phone": phone_of(c), "email": None, "account": None, "vip_level": 0,
                 "created_at": now - timedelta(days=400)}
                for c in range(start, min(customers, start + CHUNK))
            ])
        first_customer = conn.execute(select(Customer.id).order_by(Customer.id).limit(1)).scalar_one()
    for start in range(0, existing, CHUNK):
        rows, lines, keys = [], [], []
        for i in range(start, min(existing, start + CHUNK)):
            c = i % customers
            at = now - timedelta(days=365) + timedelta(seconds=int(365 * 86400 * i / max(1, existing)))
            address = pure.normalise_address(country="CN", province="上海市", city="上海市", district="黄浦区",
                                             street=street_of(c), policy=POLICY.risk)
            rows.append({
                "number": f"H{i:010d}", "shop_id": shop_id, "channel": "api", "external_id": f"H-{i}",
                "account": None, "customer_id": first_customer + c, "customer_name": "历史客户", "phone": phone_of(c),
                "email": None, "vip_level": 0, "country": "CN", "province": "上海市", "city": "上海市",
                "district": "黄浦区", "street": street_of(c), "postcode": "200001", "remote_area": False,
                "currency": "CNY", "goods_total": Decimal("10.00"), "shipping_fee": Decimal("0"),
                "discounts": Decimal("0"), "total": Decimal("10.00"), "payment_method": "alipay",
                "payment_status": "paid", "amount_paid": Decimal("10.00"), "service_type": "domestic_express",
                "order_class": "normal", "remark": None, "status": "completed", "status_before_hold": None,
                "payload_hash": "h", "payload": {}, "version": 1, "placed_at": at, "created_at": at, "updated_at": at,
            })
            keys.append((i, at, {
                KeyKind.ACCOUNT: pure.digest(f"customer:{first_customer + c}"),
                KeyKind.ADDRESS: pure.digest(address), KeyKind.PHONE: pure.digest(phone_of(c)),
            }))
        with engine.begin() as conn:
            conn.execute(insert(Order), rows)
            ids = dict(conn.execute(
                select(Order.number, Order.id).where(Order.number.in_([r["number"] for r in rows]))
            ).all())
            for i, at, digests in keys:
                order_id = ids[f"H{i:010d}"]
                lines.append({"order_id": order_id, "line_no": 1, "sku_id": sku_id, "sku_code": sku_code,
                              "name": "Bench", "quantity": 1, "unit_price": Decimal("10.00"),
                              "amount": Decimal("10.00")})
                lines.extend({"kind": k.value, "digest": d, "order_id": order_id, "at": at, "_key": True}
                             for k, d in digests.items())
            conn.execute(insert(OrderLine), [x for x in lines if "_key" not in x])
            conn.execute(insert(RiskKey), [{k: v for k, v in x.items() if k != "_key"} for x in lines if "_key" in x])
    # A bulk load leaves the planner without statistics until autovacuum comes by; give it them now,
    # as a database that grew over a year would have them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    ordo.dispose()


def text_sku() -> Any:
    from ordo.catalog.tables import Sku

    return select(Sku.id, Sku.code).order_by(Sku.id).limit(1)


def payload(i: int, existing: int) -> dict[str, Any]:
    """Every other order shares a phone and address with a recent history customer."""
    customers = max(1, existing // 10)
    repeat = i % 2 == 0
    c = (existing - 1 - i) % customers if repeat else None
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


def measure(url: str, existing: int, orders: int) -> dict[str, Any]:
    seed(url, stock=orders * 2)
    started = time.perf_counter()
    load_history(url, existing)
    loaded = time.perf_counter() - started
    ordo = Ordo(Settings(database_url=url))
    actor = Actor.system()
    submissions = [OrderSubmission.model_validate(payload(i, existing)) for i in range(orders)]
    for s in submissions[:20]:  # warm caches and code paths; not measured
        intake(ordo, submission=s.model_copy(update={"external_id": f"warm-{s.external_id}"}), actor=actor)
    latencies = []
    begin = time.perf_counter()
    for s in submissions:
        t = time.perf_counter()
        intake(ordo, submission=s, actor=actor)
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - begin
    with ordo.reading() as uow:
        held = uow.session.scalar(select(Order.id).where(Order.status == "on_hold").limit(1)) is not None
    ordo.dispose()
    return {
        "bench": "review_intake", "database": url.split(":", 1)[0], "existing_orders": existing,
        **Result(orders=orders, elapsed=elapsed, latencies=latencies).summary(),
        "history_load_s": round(loaded, 1), "some_orders_held": held, "python": platform.python_version(),
    }


@app.command()
def run(existing: int = 10_000, orders: int = 1_000, database_url: str | None = None) -> None:
    with scratch_database(database_url) as url:
        print(json.dumps(measure(url, existing, orders)), flush=True)


@app.command()
def compare(small: int = 10_000, large: int = 1_000_000, orders: int = 1_000, database_url: str | None = None) -> None:
    """Both sizes, each in a fresh database and process, then the ratio of mean per-order cost."""
    results = []
    for existing in (small, large):
        args = [sys.executable, __file__, "run", "--existing", str(existing), "--orders", str(orders)]
        if database_url:
            args += ["--database-url", database_url]
        line = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        print(line, flush=True)
        results.append(json.loads(line))
    print(json.dumps({"bench": "review_scaling", "database": results[0]["database"], "small": small, "large": large,
                      "p50_ratio": round(results[1]["p50_ms"] / results[0]["p50_ms"], 3),
                      "mean_ratio": round(results[1]["mean_ms"] / results[0]["mean_ms"], 3),
                      "p95_ratio": round(results[1]["p95_ms"] / results[0]["p95_ms"], 3)}), flush=True)


if __name__ == "__main__":
    app()
