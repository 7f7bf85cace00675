"""What happens to each demo order, planned in advance as a "story": the submission, then timed
steps (who does what, how long after the previous step) with the order state each step should
lead to. Pure: nothing here touches the database or the clock.

Knowing the expected state between steps lets the planner place a few "anchor" orders in time so
that the moment of loading falls inside a given state; that guarantees every reachable state
appears even in a small data set, while the other orders get realistic times and simply end
wherever their story has got to by now.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from ordo.kernel.money import quantize
from ordo.order.actions import OrderAction
from ordo.order.model import AddressIn, CustomerIn, LineIn, OrderSubmission, PaymentIn
from ordo.order.states import HoldReason, OrderStatus
from ordo.policy import Leg, Policy, Trait
from ordo.shipping.crossborder.rules import LegAction

from .catalog import CATEGORIES, COD_SHOPS, ONLINE_CHECKOUT, SHOPS, ShopSpec, SkuSpec, StockProfile, orderable
from .people import Address, CustomerSpec

S = OrderStatus
A = OrderAction

HORIZON = timedelta(days=28)
m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# Shopping by hour of the day in the business time zone (0–23): evenings and office hours.
HOUR_WEIGHTS = (0.25, 0.12, 0.06, 0.04, 0.04, 0.06, 0.15, 0.3, 0.55, 0.8, 1.0, 1.0,
                0.85, 0.9, 1.0, 1.0, 0.95, 0.85, 0.8, 0.95, 1.0, 1.0, 0.8, 0.5)
# Exchange rates used to price the catalogue abroad (CNY per unit).
RATES = {"CNY": Decimal(1), "USD": Decimal("7.2"), "EUR": Decimal("7.8"), "JPY": Decimal("0.048")}
CURRENCY_OF = {"CN": "CNY", "US": "USD", "JP": "JPY", "DE": "EUR"}
# Shipping fee a customer pays for a service abroad, before the policy minimum is applied.
FOREIGN_FEES = {
    "USD": {"intl_air": "59", "intl_sea": "35", "overseas_warehouse": "9.99"},
    "EUR": {"intl_air": "55", "intl_sea": "32", "overseas_warehouse": "12"},
    "JPY": {"intl_air": "3800", "intl_sea": "2200", "overseas_warehouse": "1500"},
}
CN_REMARKS = (
    "请尽快发货", "送货前请电话联系", "工作日白天配送", "请放快递柜", "礼品包装，不要放发票", "需要开具电子发票",
)
EN_REMARKS = ("Please leave at the front door", "Gift - please do not include the invoice", "Call before delivery")


class Path(StrEnum):
    STANDARD = "standard"  # paid (or cash on delivery) → … → completed
    UNPAID_CLOSE = "unpaid_close"  # never paid → closed after a day
    UNPAID_CANCEL = "unpaid_cancel"  # the buyer cancels before paying
    CANCEL_ALLOCATED = "cancel_allocated"  # the customer cancels before picking
    CANCEL_PICKING = "cancel_picking"  # cancelled while the warehouse picks (stock goes back)
    COD_REJECT = "cod_reject"  # cash on delivery, rejected at review
    HOLD_RELEASE = "hold_release"  # held for the customer, released, then fulfilled
    HOLD_CANCEL = "hold_cancel"  # held, the customer stays silent, cancelled
    HOLD_DELAY = "hold_delay"  # the customer asks to ship later
    SOLD_OUT_WAIT = "sold_out_wait"  # a sold-out SKU: the customer waits (pre-order)
    SOLD_OUT_HOLD = "sold_out_hold"  # sold out: held while the customer chooses, then waits
    SOLD_OUT_CANCEL = "sold_out_cancel"  # sold out: the customer cancels
    DUPLICATE = "duplicate"  # the same order again within minutes: held as a suspected duplicate
    RISK = "risk"  # a virtual-operator phone number: intercepted for manual review


PATH_WEIGHTS: dict[Path, float] = {
    Path.STANDARD: 76, Path.UNPAID_CLOSE: 5, Path.UNPAID_CANCEL: 1.5, Path.CANCEL_ALLOCATED: 2.5,
    Path.CANCEL_PICKING: 1, Path.COD_REJECT: 1, Path.HOLD_RELEASE: 4, Path.HOLD_CANCEL: 1, Path.HOLD_DELAY: 1,
    Path.SOLD_OUT_WAIT: 1.2, Path.SOLD_OUT_HOLD: 1, Path.SOLD_OUT_CANCEL: 1, Path.RISK: 1.5,
}
# Paths every data set contains, whatever its size (the first stories take them in turn).
MUST_HAVE = (
    Path.UNPAID_CLOSE, Path.SOLD_OUT_WAIT, Path.HOLD_RELEASE, Path.CANCEL_ALLOCATED, Path.UNPAID_CLOSE,
    Path.SOLD_OUT_HOLD, Path.RISK, Path.COD_REJECT, Path.CANCEL_PICKING, Path.HOLD_CANCEL,
)
SOLD_OUT_PATHS = (Path.SOLD_OUT_WAIT, Path.SOLD_OUT_HOLD, Path.SOLD_OUT_CANCEL)
SHIPMENT_ACTIONS = frozenset(
    {A.PICK, A.FINISH_PICK, A.CHECK, A.PACK, A.HAND_OVER, A.SHIP, A.OUT_FOR_DELIVERY, A.DELIVER}
)


@dataclass(frozen=True)
class Step:
    wait: timedelta  # after the previous step
    action: OrderAction | LegAction  # a leg's action when ``leg`` is set, else an order action
    # a username, or "system", "gateway", "channel", "warehouse" (the shipment's warehouse user),
    # "checker" (a second warehouse person, not the picker)
    actor: str
    body: dict[str, Any]
    state: str  # the order state this step should lead to
    leg: Leg | None = None  # a cross-border leg recorded on the order's shipments (not an order action)


@dataclass
class Story:
    index: int
    path: Path
    shop: ShopSpec
    customer: CustomerSpec
    address: Address
    lines: list[tuple[SkuSpec, int, Decimal]]  # SKU, quantity, unit price in the order currency
    currency: str
    service_type: str
    order_class: str
    payment_method: str
    paid_at_intake: bool
    shipping_fee: Decimal
    discounts: Decimal
    remark: str | None
    intake_actor: str
    intake_state: str
    rng: random.Random
    external_digits: int
    steps: list[Step] = field(default_factory=list)
    push_delay: timedelta = timedelta(0)  # marketplace orders reach us a little after they were placed
    patience: int = 4  # re-allocation attempts while backordered, then …
    gives_up: bool = False  # … the customer cancels
    twin: Story | None = None  # the earlier order this one duplicates
    anchored: bool = False
    at: datetime | None = None  # when the order reaches Ordo
    number: str | None = None  # given at intake
    warehouse_user: str | None = None  # who picks it, once it is allocated

    @property
    def goods_cny(self) -> Decimal:
        return sum((sku.price * q for sku, q, _ in self.lines), Decimal(0))

    @property
    def goods(self) -> Decimal:
        return sum((price * q for _, q, price in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping_fee - self.discounts

    @property
    def scarce(self) -> bool:
        return any(sku.profile == StockProfile.SCARCE for sku, _, _ in self.lines)

    def timeline(self) -> list[tuple[timedelta, str]]:
        """(time since intake, expected state from then on)."""
        points, elapsed = [(timedelta(0), self.intake_state)], timedelta(0)
        for step in self.steps:
            elapsed += step.wait
            points.append((elapsed, step.state))
        return points

    def external_id(self, placed: datetime, tz: ZoneInfo) -> str:
        day, n, r = placed.astimezone(tz), self.index, self.external_digits
        return {
            "tmall": f"{r % 10**15:015d}{n:04d}",
            "jd": f"2{r % 10**7:07d}{n:04d}",
            "pdd": f"{day:%y%m%d}-{r % 10**11:011d}{n:04d}",
            "douyin": f"69{r % 10**13:013d}{n:04d}",
            "amazon-us": f"11{r % 10:d}-{r % 10**7:07d}-{(r // 7) % 1000:03d}{n:04d}",
            "web-cn": f"W{day:%y%m%d}{n:04d}{r % 1000:03d}",
            "app-cn": f"A{day:%y%m%d}{n:04d}{r % 1000:03d}",
            "wechat-mini": f"MP{day:%y%m%d}{n:04d}{r % 100:02d}",
            "global-web": f"G{r % 1000:03d}{n:05d}",
            "store-sh": f"POS-SH01-{day:%y%m%d}-{n:04d}",
            "b2b-email": f"PO-{day:%Y}-{n:04d}{r % 100:02d}",
            "partner-api": f"DST{r % 10**6:06d}{n:04d}",
        }[self.shop.code]

    def submission(self, tz: ZoneInfo) -> OrderSubmission:
        assert self.at is not None
        placed = self.at - self.push_delay
        paid = self.paid_at_intake
        c, a = self.customer, self.address
        return OrderSubmission(
            shop=self.shop.code, channel=self.shop.channel.value, external_id=self.external_id(placed, tz),
            customer=CustomerIn(name=c.name, phone=c.phone, email=c.email, account=c.account),
            address=AddressIn(country=a.country, province=a.province, city=a.city, district=a.district,
                              street=a.street, postcode=a.postcode),
            lines=[LineIn(sku=sku.code, quantity=q, unit_price=price) for sku, q, price in self.lines],
            shipping_fee=self.shipping_fee, discounts=self.discounts, total=self.total, currency=self.currency,
            payment=PaymentIn(method=self.payment_method, status="paid" if paid else "unpaid",
                              amount_paid=self.total if paid else Decimal(0)),
            service_type=self.service_type, order_class=self.order_class, remark=self.remark,
            placed_at=placed if self.push_delay else None,
        )

    def promote(self) -> None:
        """Placed during the promotion: the promotion class and its discount."""
        if self.order_class != "normal" or self.currency != "CNY":
            return
        self.order_class = "promotion"
        goods = self.goods
        tiers = [(Decimal(1000), Decimal(120)), (Decimal(500), Decimal(60)), (Decimal(300), Decimal(40))]
        extra = next((off for floor, off in tiers if goods >= floor), Decimal(0))
        self.discounts = min(self.discounts + extra, goods)


# --- planning ---------------------------------------------------------------------------------


@dataclass
class Planner:
    rng: random.Random
    seed: int
    policy: Policy
    skus: list[SkuSpec]
    customers: list[CustomerSpec]

    def __post_init__(self) -> None:
        ok = [s for s in self.skus if orderable(s, self.policy.intake.prohibited_categories)]
        self.normal = [s for s in ok if s.profile != StockProfile.SOLD_OUT and Trait.PERISHABLE not in s.traits]
        self.fresh = [s for s in ok if Trait.PERISHABLE in s.traits]
        self.sold_out = [s for s in ok if s.profile == StockProfile.SOLD_OUT]
        self.domestic_customers = [c for c in self.customers if c.country == "CN" and not c.risky]
        self.risky_customers = [c for c in self.customers if c.risky] or self.domestic_customers
        self.foreign_customers = [c for c in self.customers if c.country != "CN"]
        self.domestic_shops = [s for s in SHOPS if not s.cross_border]
        self.global_shops = [s for s in SHOPS if s.cross_border]

    # -- choices

    def _pick_skus(self, rng: random.Random, pool: list[SkuSpec], count: int) -> list[SkuSpec]:
        chosen: list[SkuSpec] = []
        weights = [s.popularity for s in pool]
        while len(chosen) < min(count, len(pool)):
            sku = rng.choices(pool, weights=weights)[0]
            if sku not in chosen:
                chosen.append(sku)
        return chosen

    def _shop_for(self, rng: random.Random, path: Path) -> ShopSpec:
        if path in (Path.UNPAID_CLOSE, Path.UNPAID_CANCEL):
            pool = [s for s in SHOPS if s.code in ONLINE_CHECKOUT]
        elif path == Path.COD_REJECT:
            pool = [s for s in SHOPS if s.code in COD_SHOPS]
        elif path in (*SOLD_OUT_PATHS, Path.RISK):
            pool = self.domestic_shops
        else:
            pool = list(SHOPS)
        return rng.choices(pool, weights=[s.weight for s in pool])[0]

    def _customer_for(self, rng: random.Random, shop: ShopSpec, path: Path) -> CustomerSpec:
        if path == Path.RISK:
            pool = self.risky_customers
        elif shop.code == "amazon-us":
            pool = [c for c in self.foreign_customers if c.country == "US"]
        elif shop.cross_border:
            pool = self.foreign_customers
        else:
            pool = self.domestic_customers
        return rng.choices(pool, weights=[c.weight for c in pool])[0]

    def _price(self, sku: SkuSpec, currency: str) -> Decimal:
        if currency == "CNY":
            return sku.price
        converted = sku.price / RATES[currency]
        if currency == "JPY":
            return (converted / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
        return Decimal(math.ceil(converted)) - Decimal("0.01")

    def _lines(self, rng: random.Random, shop: ShopSpec, path: Path, country: str) -> tuple[list[SkuSpec], str, str]:
        """SKUs, service type and order class."""
        def count() -> int:
            return rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]

        if country != "CN":
            service = "overseas_warehouse" if country == "US" and rng.random() < 0.5 else (
                "intl_air" if rng.random() < 0.7 else "intl_sea")
            forbidden = set(self.policy.intake.service_types[service].forbidden_traits)
            pool = [s for s in self.normal if s.profile == StockProfile.NORMAL and CATEGORIES[s.category][3]
                    and not forbidden & set(s.traits)]
            if service == "overseas_warehouse":
                pool = [s for s in pool if s.overseas]
            return self._pick_skus(rng, pool, min(count(), 2)), service, "cross_border"
        if path in SOLD_OUT_PATHS:
            skus = [rng.choice(self.sold_out)]
            extra = [s for s in self._pick_skus(rng, self.normal, count() - 1) if Trait.BULKY not in s.traits]
            return skus + extra, "domestic_express", "normal"
        if shop.code not in ("b2b-email", "partner-api") and path == Path.STANDARD and rng.random() < 0.12:
            return self._pick_skus(rng, self.fresh, rng.choice((1, 1, 2, 3))), "cold_chain", "fresh"
        skus = self._pick_skus(rng, self.normal, count())
        bulky = any(Trait.BULKY in s.traits for s in skus)
        freight = bulky or (shop.code == "b2b-email" and rng.random() < 0.3)
        service = "domestic_freight" if freight else "domestic_express"
        urgent = {"store-sh": 0.3, "b2b-email": 0.2, "partner-api": 0.1}.get(shop.code, 0.02)
        order_class = "urgent" if rng.random() < urgent else (
            "promotion" if shop.code == "douyin" and rng.random() < 0.5 else "normal")
        return skus, service, order_class

    def _quantity(self, rng: random.Random, shop: ShopSpec, sku: SkuSpec) -> int:
        if Trait.BULKY in sku.traits or sku.price >= 2000:
            return 1
        if shop.code == "b2b-email":
            return rng.choice((10, 12, 20, 24, 30, 50))
        if shop.code == "partner-api":
            return rng.randint(2, 12)
        return rng.choices((1, 2, 3, 5), weights=(72, 19, 6, 3))[0]

    def _shipping_fee(self, rng: random.Random, service: str, currency: str, goods: Decimal) -> Decimal:
        minimum = self.policy.intake.service_types[service].min_shipping_fee
        if currency != "CNY":
            fee = Decimal(FOREIGN_FEES[currency][service])
        elif service == "domestic_express":
            fee = Decimal(0) if goods >= 99 else Decimal(rng.choice((8, 10, 12)))
        elif service == "domestic_freight":
            fee = Decimal(0) if goods >= 2000 else Decimal(99)
        else:  # cold chain
            fee = Decimal(rng.choice((15, 20, 25)))
        return quantize(max(fee, minimum), currency)

    def _payment(self, rng: random.Random, shop: ShopSpec, path: Path) -> tuple[str, bool]:
        """(method, paid when the order arrives)."""
        code = shop.code
        if path == Path.COD_REJECT or (
            code in COD_SHOPS and path in (Path.STANDARD, Path.HOLD_RELEASE, Path.CANCEL_ALLOCATED)
            and rng.random() < 0.08
        ):
            return "cash_on_delivery", False
        if shop.channel == "marketplace":
            return "marketplace", True
        if code == "store-sh":
            return rng.choice(("card", "wechat_pay", "alipay")), True
        if code == "b2b-email":
            return "bank_transfer", False
        if code == "partner-api":
            return ("balance", True) if rng.random() < 0.8 else ("bank_transfer", False)
        if code == "global-web":
            return rng.choice(("card", "paypal")), False
        if code == "wechat-mini":
            return "wechat_pay", False
        return rng.choice(("alipay", "wechat_pay", "card", "balance")), False

    # -- stories

    def story(self, index: int, path: Path) -> Story:
        rng = random.Random(f"{self.seed}:order:{index}")
        shop = self._shop_for(rng, path)
        customer = self._customer_for(rng, shop, path)
        address = rng.choice(customer.addresses)
        skus, service, order_class = self._lines(rng, shop, path, address.country)
        currency = CURRENCY_OF[address.country]
        lines = [(sku, self._quantity(rng, shop, sku), self._price(sku, currency)) for sku in skus]
        goods = sum((p * q for _, q, p in lines), Decimal(0))
        method, paid = self._payment(rng, shop, path)
        if path in (Path.UNPAID_CLOSE, Path.UNPAID_CANCEL):
            paid = False
        discounts = Decimal(0)
        if currency == "CNY" and goods >= 199 and rng.random() < 0.25:
            discounts = Decimal(rng.choice((10, 20, 30)))
        intake_actor = {"store-sh": "store_sh", "b2b-email": rng.choice(("cs1", "cs2"))}.get(shop.code, "channel")
        remark = None
        if rng.random() < 0.15:
            remark = rng.choice(CN_REMARKS if currency == "CNY" else EN_REMARKS)
        if shop.code == "b2b-email":
            remark = "企业采购，请随货附增值税专用发票"
        story = Story(
            index=index, path=path, shop=shop, customer=customer, address=address, lines=lines, currency=currency,
            service_type=service, order_class=order_class, payment_method=method, paid_at_intake=paid,
            shipping_fee=self._shipping_fee(rng, service, currency, goods), discounts=discounts, remark=remark,
            intake_actor=intake_actor, intake_state=S.PENDING_PAYMENT, rng=rng,
            external_digits=rng.randrange(10**15),
            push_delay=timedelta(seconds=rng.randint(20, 300)) if shop.channel == "marketplace" else timedelta(0),
            patience=rng.randint(2, 6), gives_up=rng.random() < 0.5,
        )
        Script(self.policy, story).write()
        return story

    def duplicate_of(self, index: int, twin: Story) -> Story:
        """The same customer orders the same goods again a few minutes later."""
        rng = random.Random(f"{self.seed}:order:{index}")
        story = Story(
            index=index, path=Path.DUPLICATE, shop=twin.shop, customer=twin.customer, address=twin.address,
            lines=list(twin.lines), currency=twin.currency, service_type=twin.service_type,
            order_class=twin.order_class, payment_method=twin.payment_method, paid_at_intake=twin.paid_at_intake,
            shipping_fee=twin.shipping_fee, discounts=twin.discounts, remark=None, intake_actor=twin.intake_actor,
            intake_state=S.PENDING_PAYMENT, rng=rng, external_digits=rng.randrange(10**15),
            push_delay=twin.push_delay, twin=twin,
        )
        Script(self.policy, story).write()
        return story

    def stories(self, count: int) -> list[Story]:
        paths, weights = list(PATH_WEIGHTS), list(PATH_WEIGHTS.values())
        stories: list[Story] = []
        duplicates = max(1, count // 50) if count >= 20 else 0
        for index in range(count - duplicates):
            path = MUST_HAVE[index] if index < len(MUST_HAVE) else self.rng.choices(paths, weights=weights)[0]
            stories.append(self.story(index, path))
        twins = [
            s for s in stories
            if s.path == Path.STANDARD and s.paid_at_intake and s.currency == "CNY" and not s.scarce
            and not any(step.action == A.HOLD for step in s.steps)
        ]
        for index in range(count - duplicates, count):
            stories.append(self.duplicate_of(index, twins[self.rng.randrange(len(twins))]))
        return stories


class Script:
    """Writes a story's steps, tracking the state each one should lead to."""

    def __init__(self, policy: Policy, story: Story) -> None:
        self.policy, self.story, self.rng = policy, story, story.rng
        self.state: str = S.PENDING_PAYMENT
        self.before_hold: str | None = None
        self.holds: list[HoldReason] = []
        self.review = policy.review
        sold_out = story.path in SOLD_OUT_PATHS
        self.allocated = S.BACKORDERED if sold_out else S.ALLOCATED

    def _rand(self, low: timedelta, high: timedelta) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low.total_seconds(), high.total_seconds())))

    def add(self, low: timedelta, high: timedelta, action: OrderAction, actor: str, state: str | None = None,
            **body: Any) -> None:
        self.state = state or self.state
        self.story.steps.append(Step(self._rand(low, high), action, actor, body, self.state))

    def record_leg(self, low: timedelta, high: timedelta, leg: Leg, action: LegAction, actor: str,
                   state: str | None = None, **body: Any) -> None:
        """A cross-border leg, recorded on the order's shipments through the legs handler; the order
        stays where it is unless ``state`` says the leg moves it on."""
        self.state = state or self.state
        self.story.steps.append(Step(self._rand(low, high), action, actor, body, self.state, leg=leg))

    def cs(self) -> str:
        return self.rng.choice(("cs1", "cs2"))

    def logistics(self) -> str:
        return "logistics1" if self.rng.random() < 0.6 else "logistics2"

    # -- building blocks

    def _after_confirm(self) -> str:
        return self.allocated if self.review.auto_allocate else S.CONFIRMED

    def _paid_state(self) -> str:
        return self._after_confirm() if self.review.auto_confirm_paid else S.PENDING_REVIEW

    def secure(self) -> None:
        """From intake to a reserved (or backordered) order: payment, review, allocation."""
        story = self.story
        if story.payment_method == "cash_on_delivery":
            self.state = S.PENDING_REVIEW
        elif story.paid_at_intake:
            self.state = self._paid_state()
        story.intake_state = self.state
        if self.state == S.PENDING_PAYMENT:
            if story.payment_method == "bank_transfer":
                self.add(2 * h, 30 * h, A.PAY, self.rng.choice(("finance1", "finance2")), self._paid_state(),
                         reference=f"BANK-{self.rng.randrange(10**9, 10**10)}")
            else:
                self.add(1 * m, 15 * m, A.PAY, "gateway", self._paid_state(),
                         reference=f"{story.payment_method.upper()}-{self.rng.randrange(10**11, 10**12)}")
        if self.state == S.PENDING_REVIEW:
            fast = story.customer.vip_level > 0  # VIP orders are reviewed first
            note = "货到付款：电话确认收货信息" if story.payment_method == "cash_on_delivery" else "人工审核通过"
            self.add(5 * m, (40 if fast else 180) * m, A.CONFIRM, self.cs(), self._after_confirm(), note=note)
        if self.state == S.CONFIRMED:
            self.add(10 * m, 2 * h, A.ALLOCATE, "dispatch1", self.allocated)

    def hold(self, low: timedelta, high: timedelta, reason: HoldReason, actor: str, note: str) -> None:
        if not self.holds:
            self.before_hold = self.state
        self.holds.append(reason)
        self.add(low, high, A.HOLD, actor, S.ON_HOLD, hold_reason=reason.value, note=note)

    def release(self, low: timedelta, high: timedelta, reason: HoldReason, actor: str, note: str) -> None:
        self.holds.remove(reason)
        state = S.ON_HOLD if self.holds else self.before_hold
        if not self.holds and state == S.CONFIRMED and self.review.auto_allocate:
            state = self.allocated
        self.add(low, high, A.RELEASE, actor, state, hold_reason=reason.value, note=note)

    def cancel(self, low: timedelta, high: timedelta, actor: str, reason: str) -> None:
        self.holds.clear()
        self.add(low, high, A.CANCEL, actor, S.CANCELLED, reason=reason)

    def second_review(self) -> bool:
        """Large orders wait for the department head (002); False if the head refuses."""
        if self.story.goods_cny < self.review.second_review_amount:
            return True
        self.hold(5 * m, 30 * m, HoldReason.SECOND_REVIEW, self.cs(), "金额超过二级审核阈值，提交部门主管审核")
        if self.rng.random() < 0.3:
            self.hold(5 * m, 20 * m, HoldReason.AWAITING_CUSTOMER, self.cs(), "大额订单，电话核实收货人身份")
            self.release(30 * m, 2 * h, HoldReason.AWAITING_CUSTOMER, self.cs(), "收货人身份已核实")
        if self.rng.random() < 0.1:
            self.cancel(1 * h, 4 * h, "reviewer1", "二级审核未通过：收货信息与支付信息不一致")
            return False
        self.release(1 * h, 4 * h, HoldReason.SECOND_REVIEW, self.rng.choice(("reviewer1", "reviewer2")),
                     "部门主管审核通过")
        return True

    def fulfil(self) -> None:
        story, rng = self.story, self.rng
        urgent = story.order_class in ("urgent", "fresh")
        overseas = story.service_type == "overseas_warehouse"
        pick_by = (10 * m, 40 * m) if urgent else ((1 * h, 8 * h) if overseas else (30 * m, 6 * h))
        self.add(*pick_by, A.PICK, "warehouse", S.IN_FULFILLMENT)
        self.add(10 * m, 40 * m, A.FINISH_PICK, "warehouse")
        self.add(5 * m, 30 * m, A.CHECK, "checker")  # a second person verifies what was picked
        self.add(5 * m, 25 * m, A.PACK, "warehouse")
        self.add(20 * m, 3 * h, A.HAND_OVER, "warehouse")
        carrier, tracking = carrier_for(rng, story)
        legs = self.policy.intake.service_types[story.service_type].legs
        if legs and legs[0] == Leg.LAST_MILE:
            # Overseas warehouse: the local carrier collects the parcel there (which ships it) and
            # takes it out for delivery; no international legs.
            self.record_leg(1 * h, 1 * d, Leg.LAST_MILE, LegAction.HAND_OVER, self.logistics(), S.SHIPPED,
                            carrier=carrier, tracking_number=tracking)
        else:
            # The carrier booked at hand-over (the policy's choice) takes it; its real number replaces
            # the one the manual carrier made up.
            self.add(30 * m, 4 * h, A.SHIP, self.logistics(), S.SHIPPED, tracking_number=tracking)
            if legs:
                self.cross_border(legs)
            if Leg.LAST_MILE not in legs:
                transit = {
                    "cold_chain": (12 * h, 30 * h), "intl_air": (4 * d, 8 * d), "intl_sea": (15 * d, 24 * d),
                    "overseas_warehouse": (1 * d, 3 * d), "domestic_freight": (2 * d, 5 * d),
                }.get(story.service_type, (1 * d, 3 * d))
                if story.address.province in ("新疆维吾尔自治区", "西藏自治区", "青海省"):
                    transit = (transit[0] + 2 * d, transit[1] + 3 * d)
                self.add(*transit, A.OUT_FOR_DELIVERY, "logistics1")
        self.add(1 * h, 8 * h, A.DELIVER, "logistics1", S.DELIVERED)
        self.add(1 * d, 5 * d, A.COMPLETE, "system", S.COMPLETED)

    def cross_border(self, legs: tuple[Leg, ...]) -> None:
        """The legs of the service type after the parcel has left the warehouse (002): export booking
        and declaration (the SKUs' HS codes, values and origins), the flight or voyage, arrival,
        customs (now and then held for a while), the local carrier's last mile."""
        story, rng = self.story, self.rng
        sea = story.service_type == "intl_sea"
        if Leg.EXPORT_BOOKING in legs:
            forwarder = rng.choice(SEA_FORWARDERS if sea else AIR_FORWARDERS)
            self.record_leg(*((2 * h, 1 * d) if sea else (1 * h, 6 * h)), Leg.EXPORT_BOOKING, LegAction.BOOK,
                            self.logistics(), reference=f"BK{rng.randrange(10**7, 10**8)}", carrier=forwarder)
        if Leg.EXPORT_DECLARATION in legs:
            self.record_leg(1 * h, 8 * h, Leg.EXPORT_DECLARATION, LegAction.DECLARE, self.logistics(),
                            reference=f"{rng.randrange(10**17, 10**18)}")  # an 18-digit export declaration number
        if Leg.INTERNATIONAL_TRANSPORT in legs:
            if sea:
                voyage = f"{rng.choice(VESSELS)} V.{rng.randrange(10, 99):03d}E"
                self.record_leg(1 * d, 3 * d, Leg.INTERNATIONAL_TRANSPORT, LegAction.DEPART, self.logistics(),
                                reference=voyage)
            else:
                flight = f"{rng.choice(AIRLINES)}{rng.randrange(100, 1000)}"
                self.record_leg(4 * h, 1 * d, Leg.INTERNATIONAL_TRANSPORT, LegAction.DEPART, self.logistics(),
                                reference=flight)
            self.record_leg(*((12 * d, 20 * d) if sea else (1 * d, 3 * d)), Leg.ARRIVAL, LegAction.ARRIVE,
                            self.logistics())
        if Leg.CUSTOMS_CLEARANCE in legs:
            clearance = {"reference": f"CUS{rng.randrange(10**8, 10**9)}"}
            if rng.random() < 0.1:
                self.record_leg(2 * h, 12 * h, Leg.CUSTOMS_CLEARANCE, LegAction.HOLD, self.logistics(),
                                reason=rng.choice(CUSTOMS_HOLDS))
                self.record_leg(12 * h, 2 * d, Leg.CUSTOMS_CLEARANCE, LegAction.CLEAR, self.logistics(), **clearance)
            else:
                self.record_leg(3 * h, 30 * h, Leg.CUSTOMS_CLEARANCE, LegAction.CLEAR, self.logistics(), **clearance)
        if Leg.LAST_MILE in legs:
            carrier, tracking = local_carrier(rng, story.address.country)
            self.record_leg(2 * h, 12 * h, Leg.LAST_MILE, LegAction.HAND_OVER, self.logistics(),
                            carrier=carrier, tracking_number=tracking)

    # -- the paths

    def write(self) -> None:
        path, rng = self.story.path, self.rng
        if path == Path.UNPAID_CLOSE:
            self.story.intake_state = S.PENDING_PAYMENT
            self.add(24 * h, 25 * h, A.CLOSE, "system", S.CLOSED, reason="超时未支付，系统自动关闭")
            return
        if path == Path.UNPAID_CANCEL:
            self.story.intake_state = S.PENDING_PAYMENT
            reason = rng.choice(("买家取消：拍错了", "买家取消：不想要了"))
            self.add(3 * m, 90 * m, A.CANCEL, "channel", S.CANCELLED, reason=reason)
            return
        if path == Path.COD_REJECT:
            self.story.intake_state = S.PENDING_REVIEW
            reason = "货到付款：收货电话无法接通，地址无法核实"
            self.add(20 * m, 3 * h, A.REJECT, "reviewer1", S.CANCELLED, reason=reason)
            return
        self.secure()
        if path == Path.STANDARD:
            if self.second_review():
                self.fulfil()
        elif path == Path.CANCEL_ALLOCATED:
            reason = rng.choice(("客户申请取消：不想要了", "客户申请取消：地址填错，重新下单"))
            self.cancel(10 * m, 5 * h, self.cs(), reason)
        elif path == Path.CANCEL_PICKING:
            self.add(20 * m, 2 * h, A.PICK, "warehouse", S.IN_FULFILLMENT)
            self.cancel(10 * m, 40 * m, self.cs(), "客户申请取消，仓库拦截成功")
        elif path == Path.HOLD_RELEASE:
            self.hold(5 * m, 40 * m, HoldReason.AWAITING_CUSTOMER, self.cs(), "收货地址不完整，已致电客户核实")
            self.release(30 * m, 6 * h, HoldReason.AWAITING_CUSTOMER, self.cs(), "客户已补充门牌号")
            self.fulfil()
        elif path == Path.HOLD_CANCEL:
            self.hold(5 * m, 40 * m, HoldReason.AWAITING_CUSTOMER, self.cs(), "收货信息存疑，已联系客户")
            self.cancel(24 * h, 48 * h, self.cs(), "客户超时未回复，取消订单")
        elif path == Path.HOLD_DELAY:
            self.hold(10 * m, 2 * h, HoldReason.OTHER, self.cs(), "客户要求延迟发货")
            self.release(1 * d, 3 * d, HoldReason.OTHER, self.cs(), "客户确认可以发货")
            self.fulfil()
        elif path == Path.SOLD_OUT_HOLD:
            self.hold(30 * m, 1 * h, HoldReason.OUT_OF_STOCK, self.cs(), "缺货，已告知客户：可换替代品、等待到货或取消")
            self.release(2 * h, 10 * h, HoldReason.OUT_OF_STOCK, self.cs(), "客户选择等待到货（预售）")
        elif path == Path.SOLD_OUT_CANCEL:
            self.cancel(1 * d, 4 * d, self.cs(), "缺货，客户选择取消订单")
        elif path == Path.DUPLICATE:
            self.hold(5 * m, 20 * m, HoldReason.DUPLICATE_SUSPECTED, self.cs(), "30分钟内同一账号重复下单同一商品")
            if rng.random() < 0.6:
                self.cancel(20 * m, 2 * h, self.cs(), "客户确认重复下单，取消后一单")
            else:
                self.release(20 * m, 2 * h, HoldReason.DUPLICATE_SUSPECTED, self.cs(), "客户确认需要两单")
                self.fulfil()
        elif path == Path.RISK:
            self.hold(2 * m, 15 * m, HoldReason.RISK_INTERCEPTED, self.cs(), "虚拟运营商号码，转人工审核")
            if rng.random() < 0.65:
                self.cancel(1 * h, 6 * h, "reviewer1", "核实为恶意订单，已拦截并记录账户")
            else:
                self.release(1 * h, 6 * h, HoldReason.RISK_INTERCEPTED, "reviewer1", "人工核实通过")
                self.fulfil()


AIR_FORWARDERS = ("Kuehne+Nagel", "DHL Global Forwarding", "Sinotrans Air")
SEA_FORWARDERS = ("COSCO Shipping Lines", "Maersk", "Sinotrans")
AIRLINES = ("CA", "MU", "CZ", "CK")
VESSELS = ("COSCO SHIPPING ARIES", "CSCL GLOBE", "MAERSK ESSEN", "EVER GIVEN")
CUSTOMS_HOLDS = (
    "Invoice value queried", "Documents incomplete: commercial invoice missing", "Random inspection",
)


def local_carrier(rng: random.Random, country: str) -> tuple[str, str]:
    """The carrier of the destination country that takes cleared goods to the customer."""
    digits = rng.randrange(10**12, 10**13)
    carrier = rng.choice({"US": ("USPS", "UPS"), "JP": ("Yamato", "Japan Post"),
                          "DE": ("DHL Paket", "Hermes")}.get(country, ("DHL Express",)))
    return carrier, {
        "USPS": f"9400{digits:013d}{rng.randrange(10**5):05d}", "UPS": f"1Z{digits % 10**12:012d}A{digits % 1000:03d}",
        "Yamato": f"{digits % 10**12:012d}", "Japan Post": f"EJ{digits % 10**9:09d}JP",
        "DHL Paket": f"00340{digits:013d}", "Hermes": f"H{digits % 10**10:010d}",
    }.get(carrier, f"{digits % 10**10:010d}")


def carrier_for(rng: random.Random, story: Story) -> tuple[str, str]:
    """Carrier by service and goods (003): light parcels economy, electronics premium, bulky freight."""
    service = story.service_type
    digits = rng.randrange(10**12, 10**13)
    if service == "cold_chain":
        return "SF Cold Chain", f"SF{digits}"
    if service == "domestic_freight":
        return "Deppon", f"DPK{digits % 10**12:012d}"
    if service == "intl_air":
        carrier = rng.choice(("DHL", "FedEx", "UPS"))
        return carrier, {"DHL": f"{digits % 10**10:010d}", "FedEx": f"{digits % 10**12:012d}",
                         "UPS": f"1Z{digits % 10**12:012d}A{rng.randrange(1000):03d}"}[carrier]
    if service == "intl_sea":
        return "COSCO", f"COSU{digits % 10**7:07d}"
    if service == "overseas_warehouse":
        return "USPS", f"9400{digits:013d}{rng.randrange(10**5):05d}"
    weight = sum(sku.weight_g * q for sku, q, _ in story.lines)
    if any(Trait.ELECTRONICS in sku.traits for sku, _, _ in story.lines):
        return "SF Express", f"SF{digits}"
    if story.shop.code == "jd":
        return "JD Logistics", f"JDVA{digits % 10**11:011d}"
    if weight <= 1000:
        carrier = rng.choice(("ZTO Express", "YTO Express"))
        return carrier, (f"75{digits % 10**12:012d}" if carrier == "ZTO Express" else f"YT{digits}")
    return "SF Express", f"SF{digits}"


# --- time -------------------------------------------------------------------------------------


def sample_age(
    rng: random.Random, now: datetime, tz: ZoneInfo, low: timedelta, high: timedelta,
    promotion: tuple[timedelta, timedelta] | None = None,
) -> timedelta:
    """An age in [low, high], shaped by shopping hours, a slowly growing business and twice the
    volume during the promotion, when the window is long enough for that to matter."""
    low_s, high_s = low.total_seconds(), high.total_seconds()
    if high_s - low_s < 6 * 3600:
        return timedelta(seconds=round(rng.uniform(low_s, high_s)))
    horizon = HORIZON.total_seconds()
    for _ in range(400):
        age = rng.uniform(low_s, high_s)
        hour = (now - timedelta(seconds=age)).astimezone(tz).hour
        sale = promotion is not None and promotion[0].total_seconds() <= age <= promotion[1].total_seconds()
        if rng.random() < HOUR_WEIGHTS[hour] * (1 - 0.25 * age / horizon) * (1 if sale else 0.5):
            return timedelta(seconds=round(age))
    return timedelta(seconds=round(rng.uniform(low_s, high_s)))  # pragma: no cover


def place(stories: list[Story], *, rng: random.Random, now: datetime, tz: ZoneInfo, targets: list[str],
          anchors_per_state: int, promotion: tuple[timedelta, timedelta]) -> None:
    """Give every story its arrival time. A few "anchor" stories per target state are timed so that
    they are in that state now; the others arrive at realistic times over the horizon."""
    limit = HORIZON - h
    free = [s for s in stories if s.twin is None and not any(t.twin is s for t in stories) and not s.scarce]
    for target in targets:
        candidates = []
        for story in free:
            if story.anchored:
                continue
            points = story.timeline()
            windows = [
                (start, points[i + 1][0] if i + 1 < len(points) else limit)
                for i, (start, state) in enumerate(points) if state == target and start < limit
            ]
            windows = [(a, min(b, limit)) for a, b in windows if min(b, limit) - a > m]
            if windows:
                candidates.append((story, windows))
        for story, windows in rng.sample(candidates, min(anchors_per_state, len(candidates))):
            start, end = rng.choice(windows)
            story.at = now - sample_age(rng, now, tz, start + m / 2, end - m / 2)
            story.anchored = True
    for story in stories:
        if story.at is None and story.twin is None:
            story.at = now - sample_age(rng, now, tz, timedelta(minutes=1), HORIZON, promotion)
    for story in stories:
        if story.twin is not None:
            assert story.twin.at is not None
            story.at = min(story.twin.at + timedelta(minutes=rng.uniform(3, 25)), now)
        assert story.at is not None
        if not story.anchored and promotion[0] <= now - story.at <= promotion[1]:
            story.promote()
