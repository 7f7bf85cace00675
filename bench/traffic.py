"""The closed-loop clients of a soak run (bench/soak.py): each waits for its answer before the next
request, doing a weighted mix of what shops, reviewers, the warehouse, logistics and customers do.

Every answer is classified: **success**; **refusal** — a 409 of the business rules (an illegal step
or a race another client won: the order moved meanwhile, the hold is already there, the review is
claimed), a 422 or 404 the client provoked on purpose; or **error** — any other status, a 5xx, a
transport error while the server was up. Transport errors of requests that were under way when the
server was killed, or sent while it was down, are counted as **interrupted**; the intake retries
those with the same payload (so the same external id) until it is answered, and a 200 then says the
order had been stored before the kill.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Coroutine, Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx2 as httpx

# What the clients do, by weight; an action without a candidate order (nothing on hold to
# release, …) becomes an intake.
MIX: dict[str, int] = {
    "intake": 26, "intake_replay": 2, "intake_conflict": 1, "intake_invalid": 1,
    "review": 8, "allocate": 3, "substitute": 1, "restock": 1,
    "hold": 4, "release": 4, "cancel": 2, "pay": 3, "close": 1, "action_invalid": 1,
    "forward": 24, "query": 18,
}
# Intake variants: what the review and allocation rules make of them.
VARIANTS: dict[str, int] = {
    "plain": 62,  # plentiful goods, paid: confirmed and allocated at once
    "scarce": 14,  # a scarce SKU as well: allocated, or backordered when it is gone
    "unpaid": 8,  # pending payment until someone pays or closes it
    "virtual_phone": 6,  # a virtual operator's number: one-level manual review
    "remote": 2,  # a remote address: one-level manual review
    "large": 3,  # over the two-level threshold: first and second review by different people
    "crowd": 5,  # one of a few shared phones and addresses: the same-contact and duplicate rules hold it
}
HOLDABLE = ("pending_payment", "pending_review", "confirmed", "allocated", "backordered")
CANCELLABLE = (*HOLDABLE, "on_hold", "in_fulfillment")
FORWARD = ("allocated", "in_fulfillment", "shipped", "delivered")
# The order action that moves a shipment on from each state (scans and packing come first).
NEXT_STEP = {"allocated": "pick", "picking": "finish-pick", "picked": "check", "checked": "pack",
             "packed": "hand-over", "handed_over": "ship", "in_transit": "out-for-delivery",
             "out_for_delivery": "deliver"}
PARCEL = {"weight_g": 800, "length_mm": 200, "width_mm": 150, "height_mm": 100}


@dataclass(frozen=True)
class Habits:
    """How the people behave. ``claims``: reviewers claim an order before deciding (otherwise they
    decide at once, which the API allows). ``exclusive_forward``: one client at a time moves an
    order's shipments (the forward steps, cancel: one packer per bench); otherwise two may scan,
    pack or cancel the same shipment at once. ``mix``: weights that replace those of ``MIX``."""

    claims: bool = True
    exclusive_forward: bool = False
    mix: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Catalogue:
    plentiful: dict[str, Decimal]  # SKU → price
    scarce: dict[str, tuple[str, Decimal]]  # SKU → (warehouse that receives it, price)
    large: dict[str, Decimal]
    shop: str


@dataclass(frozen=True)
class Tokens:
    admin: str
    reviewers: tuple[str, ...]  # (token, …): two-level reviews need two people
    reviewer_names: tuple[str, ...]
    picker: str
    checker: str


class Pool:
    """Order numbers by last known status, with O(1) add, remove and random choice."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, number: str) -> None:
        if number not in self.index:
            self.index[number] = len(self.items)
            self.items.append(number)

    def discard(self, number: str) -> None:
        i = self.index.pop(number, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i], self.index[last] = last, i

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Known:
    number: str
    external_id: str
    phone: str
    status: str = ""
    shipments: list[dict[str, Any]] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    scarce_line: int | None = None


class World:
    """What the clients have learnt from the answers; other clients may have moved an order since."""

    def __init__(self) -> None:
        self.orders: dict[str, Known] = {}
        self.pools: dict[str, Pool] = {}
        self.payloads: dict[str, dict[str, Any]] = {}  # external id → the body sent
        self.acknowledged: dict[str, str] = {}  # external id → number: what clients were told
        self.busy: set[str] = set()  # orders a client is moving on (Habits.exclusive_forward)

    def learn(self, detail: dict[str, Any]) -> None:
        known = self.orders.get(detail["number"])
        if known is None:
            return
        if known.status:
            self.pools[known.status].discard(known.number)
        known.status = detail["status"]
        known.shipments = [{"number": s["number"], "status": s["status"], "lines": s["lines"]}
                           for s in detail["shipments"]]
        known.holds = [h["reason"] for h in detail["holds"] if h["released_at"] is None]
        self.pools.setdefault(known.status, Pool()).add(known.number)

    def pick(self, rng: random.Random, statuses: Iterable[str]) -> Known | None:
        pools = [self.pools[s] for s in statuses if self.pools.get(s)]
        total = sum(len(p) for p in pools)
        if not total:
            return None
        i = rng.randrange(total)
        for p in pools:
            if i < len(p):
                return self.orders[p.items[i]]
            i -= len(p)
        return None


class Outages:
    """When the server was last killed and last came back: transport errors of requests started
    before it came back are interruptions, not errors."""

    def __init__(self) -> None:
        self.down = False
        self.up_since = time.monotonic()

    def interrupted(self, started: float) -> bool:
        return self.down or started < self.up_since


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)  # answered, by kind
    refusals: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    interrupted: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    intake: Counter[str] = field(default_factory=Counter)  # created, retried, stored before a kill, …

    def error(self, kind: str, what: str, **sample: Any) -> None:
        self.errors[f"{kind} {what}"] += 1
        if len(self.samples) < 40:
            self.samples.append({"kind": kind, "what": what, **sample})


class Client:
    """One closed-loop client. ``run`` loops until ``stop`` is set; the operation under way is
    finished (an intake retried until answered) before it returns."""

    def __init__(self, n: int, http: httpx.AsyncClient, world: World, tally: Tally, outages: Outages,
                 catalogue: Catalogue, tokens: Tokens, *, seed: int, run_id: str, stop: asyncio.Event,
                 give_up_at: list[float], habits: Habits = Habits()) -> None:
        self.n, self.http, self.world, self.tally, self.outages = n, http, world, tally, outages
        self.catalogue, self.tokens, self.stop = catalogue, tokens, stop
        self.rng = random.Random(seed * 1000 + n)
        self.run_id, self.serial = run_id, 0
        self.reviewer = n % len(tokens.reviewers)
        self.give_up_at = give_up_at  # set when the load stops: retries end by then
        self.habits = habits

    # --- HTTP ------------------------------------------------------------------------------------

    async def call(self, kind: str, method: str, path: str, *, ok: Iterable[int] = (200,),
                   refuse: Iterable[int] = (409,), token: str | None = None, **kwargs: Any) -> httpx.Response | None:
        """One request, classified. None after a transport error (counted as interrupted or error)."""
        headers = {"Authorization": f"Bearer {token or self.tokens.admin}"} if token != "" else {}
        started = time.monotonic()
        try:
            r = await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            if self.outages.interrupted(started):
                self.tally.interrupted[kind] += 1
            else:
                self.tally.error(kind, f"transport {type(exc).__name__}", path=path, detail=str(exc)[:200])
            return None
        self.tally.requests[kind] += 1  # answered
        self.tally.latencies.setdefault(kind.split(".")[0], []).append(time.monotonic() - started)
        if r.status_code in ok:
            return r
        if r.status_code in refuse:
            self.tally.refusals[f"{kind} {r.status_code} {_code(r)}"] += 1
            return r
        self.tally.error(kind, str(r.status_code), path=path, body=r.text[:300])
        return r

    # --- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        actions = {
            "intake": self.intake, "intake_replay": self.intake_replay, "intake_conflict": self.intake_conflict,
            "intake_invalid": self.intake_invalid, "review": self.review, "allocate": self.allocate,
            "substitute": self.substitute, "restock": self.restock, "hold": self.hold, "release": self.release,
            "cancel": self.cancel, "pay": self.pay, "close": self.close, "action_invalid": self.action_invalid,
            "forward": self.forward, "query": self.query,
        }
        mix = {**MIX, **dict(self.habits.mix)}
        unknown = set(mix) - set(actions)
        if unknown:
            raise ValueError(f"no such kind of traffic: {', '.join(sorted(unknown))}")
        kinds, weights = list(mix), list(mix.values())
        while not self.stop.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            if not await actions[kind]():
                await self.intake()

    def _ok(self, r: httpx.Response | None, *codes: int) -> bool:
        return r is not None and r.status_code in (codes or (200,))

    def _learn(self, r: httpx.Response | None) -> None:
        if r is not None and r.status_code in (200, 201):
            self.world.learn(r.json())

    # --- intake ----------------------------------------------------------------------------------

    def _payload(self, variant: str) -> tuple[dict[str, Any], int | None]:
        self.serial += 1
        n = self.n * 10_000_000 + self.serial  # unique per client and order: no accidental duplicates
        c = self.catalogue
        lines = [(sku, self.rng.randint(1, 3)) for sku in self.rng.sample(sorted(c.plentiful), self.rng.randint(1, 3))]
        prices = dict(c.plentiful)
        scarce_line = None
        if variant == "scarce":
            sku = self.rng.choice(sorted(c.scarce))
            lines.append((sku, self.rng.randint(1, 2)))
            prices[sku] = c.scarce[sku][1]
            scarce_line = len(lines)
        if variant == "large":
            sku = self.rng.choice(sorted(c.large))
            lines.append((sku, 1))
            prices[sku] = c.large[sku]
        phone, street = f"139{n % 10**8:08d}", f"测试路{n}号"
        if variant == "virtual_phone":
            phone = f"170{n % 10**8:08d}"
        if variant == "crowd":
            k = self.rng.randrange(12)
            phone, street = f"1365555{k:04d}", f"人民路{k + 1}号"
        province, city, district, postcode = "上海市", "上海市", "浦东新区", "200120"
        if variant == "remote":
            province, city, district, postcode = "新疆维吾尔自治区", "乌鲁木齐市", "天山区", "830000"
        total = sum(prices[sku] * q for sku, q in lines)
        paid = variant != "unpaid"
        customer: dict[str, Any] = {"name": "测试客户", "phone": phone}
        if self.rng.random() < 0.2:
            customer["email"] = f"buyer{n}@example.cn"
        return {
            "shop": c.shop, "external_id": f"{self.run_id}-{self.n}-{self.serial}",
            "customer": customer,
            "address": {"country": "CN", "province": province, "city": city, "district": district,
                        "street": street, "postcode": postcode},
            "lines": [{"sku": sku, "quantity": q, "unit_price": str(prices[sku])} for sku, q in lines],
            "total": str(total), "currency": "CNY",
            "payment": {"method": "alipay", "status": "paid" if paid else "unpaid",
                        "amount_paid": str(total if paid else Decimal("0"))},
            "service_type": "domestic_express",
        }, scarce_line

    async def intake(self) -> bool:
        variant = self.rng.choices(list(VARIANTS), list(VARIANTS.values()))[0]
        body, scarce_line = self._payload(variant)
        external_id = body["external_id"]
        self.world.payloads[external_id] = body
        retried, pause = False, 0.25
        while True:
            r = await self.call("intake", "POST", "/api/v1/orders", json=body, ok=(201, 200) if retried else (201,),
                                refuse=())
            if r is not None:
                break
            if time.monotonic() > self.give_up_at[0]:
                self.tally.error("intake", "unanswered", external_id=external_id)
                return True
            retried = True
            self.tally.intake["retried"] += 1
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)
        if r.status_code not in (200, 201) or (r.status_code == 200 and not retried):
            return True
        detail = r.json()
        self.tally.intake["stored before the kill" if r.status_code == 200 else "created"] += 1
        self.world.acknowledged[external_id] = detail["number"]
        self.world.orders[detail["number"]] = Known(detail["number"], external_id, body["customer"]["phone"],
                                                    scarce_line=scarce_line)
        self.world.learn(detail)
        return True

    def _known_payload(self) -> tuple[str, dict[str, Any]] | None:
        if not self.world.acknowledged:
            return None
        external_id = self.rng.choice(list(self.world.acknowledged))
        return external_id, self.world.payloads[external_id]

    async def intake_replay(self) -> bool:
        """The same order sent again (a channel's retry): answered 200 with the same number."""
        known = self._known_payload()
        if known is None:
            return False
        external_id, body = known
        r = await self.call("intake_replay", "POST", "/api/v1/orders", json=body, refuse=())
        if self._ok(r) and r is not None and r.json()["number"] != self.world.acknowledged[external_id]:
            self.tally.error("intake_replay", "other number", external_id=external_id, number=r.json()["number"])
        return True

    async def intake_conflict(self) -> bool:
        """The same external id with other content: refused 409 (idempotency_conflict), nothing stored."""
        known = self._known_payload()
        if known is None:
            return False
        _, body = known
        changed = deepcopy(body)
        line = changed["lines"][0]
        line["quantity"] += 1
        total = Decimal(changed["total"]) + Decimal(line["unit_price"])
        changed["total"] = str(total)
        if changed["payment"]["status"] == "paid":
            changed["payment"]["amount_paid"] = str(total)
        r = await self.call("intake_conflict", "POST", "/api/v1/orders", json=changed, ok=(), refuse=(409,))
        if r is not None and r.status_code == 409 and _code(r) != "idempotency_conflict":
            self.tally.error("intake_conflict", f"409 {_code(r)}", body=r.text[:300])
        return True

    async def intake_invalid(self) -> bool:
        """An order no rule accepts (unknown SKU, bad phone): 422 naming the fields, nothing stored."""
        body, _ = self._payload("plain")
        body["lines"][0]["sku"] = "NO-SUCH-SKU"
        body["customer"]["phone"] = "12"
        r = await self.call("intake_invalid", "POST", "/api/v1/orders", json=body, ok=(), refuse=(422,))
        if r is not None and r.status_code == 422:
            fields = {e["field"] for e in r.json().get("errors", [])}
            if not {"lines[0].sku", "customer.phone"} <= fields:
                self.tally.error("intake_invalid", "422 without the fields", body=r.text[:300])
        return True

    # --- review ------------------------------------------------------------------------------------

    async def review(self) -> bool:
        token, me = self.tokens.reviewers[self.reviewer], self.tokens.reviewer_names[self.reviewer]
        r = await self.call("review.queue", "GET", "/api/v1/review/queue", params={"limit": 20}, token=token)
        if not self._ok(r) or r is None:
            return True
        items = [i for i in r.json()["items"] if i["first_approved_by"] != me
                 and i["claimed_by"] in (None, me)]
        if not items:
            return False
        item = self.rng.choice(items)
        number = item["number"]
        if self.habits.claims:
            r = await self.call("review.claim", "POST", f"/api/v1/review/orders/{number}/claim", token=token)
            if not self._ok(r):
                return True
        if self.rng.random() < 0.1:
            r = await self.call("review.reject", "POST", f"/api/v1/review/orders/{number}/reject", token=token,
                                json={"reason": "soak: refused by the reviewer"})
        else:
            r = await self.call("review.approve", "POST", f"/api/v1/review/orders/{number}/approve", token=token,
                                json={"note": "soak"})
        if self._ok(r):
            self._learn(await self.call("query.detail", "GET", f"/api/v1/orders/{number}", refuse=()))
        return True

    # --- stock -------------------------------------------------------------------------------------

    async def allocate(self) -> bool:
        order = self.world.pick(self.rng, ("backordered", "confirmed"))
        if order is None:
            return False
        self._learn(await self.call("action.allocate", "POST", f"/api/v1/orders/{order.number}/allocate"))
        return True

    async def substitute(self) -> bool:
        """A backordered customer takes a plentiful SKU for the scarce line: allocated at once."""
        order = self.world.pick(self.rng, ("backordered",))
        if order is None or order.scarce_line is None:
            return False
        sku = self.rng.choice(sorted(self.catalogue.plentiful))
        self._learn(await self.call("action.substitute", "POST", f"/api/v1/orders/{order.number}/substitute",
                                    json={"line_no": order.scarce_line, "sku": sku, "note": "soak"}))
        return True

    async def restock(self) -> bool:
        """A few scarce units arrive: the waiting backorders are served in their order."""
        sku = self.rng.choice(sorted(self.catalogue.scarce))
        warehouse = self.catalogue.scarce[sku][0]
        await self.call("stock.receive", "POST", "/api/v1/stock/receipts", ok=(201,), refuse=(),
                        json={"warehouse": warehouse, "sku": sku, "quantity": self.rng.randint(1, 4),
                              "reason": "soak restock"})
        return True

    # --- status changes ----------------------------------------------------------------------------

    async def _act(self, kind: str, order: Known, action: str, body: dict[str, Any] | None = None,
                   token: str | None = None) -> httpx.Response | None:
        r = await self.call(f"action.{kind}", "POST", f"/api/v1/orders/{order.number}/{action}", json=body or {},
                            token=token)
        self._learn(r)
        return r

    async def hold(self) -> bool:
        order = self.world.pick(self.rng, (*HOLDABLE, "on_hold"))
        if order is None:
            return False
        reason = self.rng.choice(("awaiting_customer", "other"))
        await self._act("hold", order, "hold", {"hold_reason": reason, "note": "soak"})
        return True

    async def release(self) -> bool:
        order = self.world.pick(self.rng, ("on_hold",))
        if order is None or not order.holds:
            return False
        await self._act("release", order, "release", {"hold_reason": self.rng.choice(order.holds), "note": "soak"})
        return True

    async def cancel(self) -> bool:
        order = self.world.pick(self.rng, CANCELLABLE)
        if order is None:
            return False
        return await self._exclusively(order, self._cancel(order))

    async def _cancel(self, order: Known) -> bool:
        await self._act("cancel", order, "cancel", {"reason": "soak: the customer changed their mind"})
        return True

    async def pay(self) -> bool:
        order = self.world.pick(self.rng, ("pending_payment",))
        if order is None:
            return False
        await self._act("pay", order, "pay", {"reference": f"PAY-{order.number}"})
        return True

    async def close(self) -> bool:
        order = self.world.pick(self.rng, ("pending_payment",))
        if order is None:
            return False
        await self._act("close", order, "close", {"reason": "soak: never paid"})
        return True

    async def action_invalid(self) -> bool:
        """A hold without its reason: 422 naming the field, nothing written."""
        order = self.world.pick(self.rng, HOLDABLE)
        if order is None:
            return False
        r = await self.call("action_invalid", "POST", f"/api/v1/orders/{order.number}/hold", json={}, ok=(),
                            refuse=(422,))
        if r is not None and r.status_code == 422 and [e["field"] for e in r.json()["errors"]] != ["hold_reason"]:
            self.tally.error("action_invalid", "422 without the field", body=r.text[:300])
        return True

    # --- the warehouse and logistics ---------------------------------------------------------------

    async def forward(self) -> bool:
        """The next step of one shipment (with the scans and packing it needs), or complete."""
        # Mostly orders already under way, so that many reach the door within a run.
        order = self.world.pick(self.rng, FORWARD[1:] if self.rng.random() < 0.75 else FORWARD[:1])
        if order is None:
            order = self.world.pick(self.rng, FORWARD)
        if order is None:
            return False
        return await self._exclusively(order, self._forward(order))

    async def _exclusively(self, order: Known, work: Coroutine[Any, Any, bool]) -> bool:
        """Run ``work``; with ``Habits.exclusive_forward`` only if no other client is moving this
        order's shipments (forward steps, cancel) meanwhile."""
        if not self.habits.exclusive_forward:
            return await work
        if order.number in self.world.busy:
            work.close()
            return False
        self.world.busy.add(order.number)
        try:
            return await work
        finally:
            self.world.busy.discard(order.number)

    async def _forward(self, order: Known) -> bool:
        if order.status == "delivered":
            await self._act("complete", order, "complete")
            return True
        moving = [s for s in order.shipments if s["status"] in NEXT_STEP]
        if not moving:
            return False
        shipment = self.rng.choice(moving)
        number, status = shipment["number"], shipment["status"]
        step = NEXT_STEP[status]
        if status == "in_transit" and self.rng.random() < 0.3:
            step = "deliver"
        token = None
        if status in ("picking", "picked"):
            token = self.tokens.picker if status == "picking" else self.tokens.checker
            stage = "pick" if status == "picking" else "check"
            for line in shipment["lines"]:
                r = await self.call(f"scan.{stage}", "POST", f"/api/v1/shipments/{number}/scans", ok=(201,),
                                    token=token, json={"barcode": line["sku"], "quantity": line["quantity"],
                                                       "stage": stage})
                if r is None:
                    return True
        elif status == "allocated":
            token = self.tokens.picker
        if status == "checked":
            r = await self.call("pack.read", "GET", f"/api/v1/shipments/{number}/packing", refuse=())
            if not self._ok(r) or r is None:
                return True
            r = await self.call("pack.record", "POST", f"/api/v1/shipments/{number}/pack",
                                json={"confirmed": r.json()["instructions"], "parcels": [PARCEL]})
            if self._ok(r):
                self._learn(await self.call("query.detail", "GET", f"/api/v1/orders/{order.number}", refuse=()))
            return True
        await self._act(step, order, step, {"shipment": number}, token=token)
        return True

    # --- queries -----------------------------------------------------------------------------------

    async def query(self) -> bool:
        what = self.rng.choice(("detail", "detail", "list", "list_phone", "track", "track_wrong", "queue", "stock",
                                "outbox", "overdue"))
        order = self.world.pick(self.rng, list(self.world.pools))
        if order is None and what in ("detail", "list_phone", "track", "track_wrong"):
            return False
        if what == "detail":
            assert order is not None
            self._learn(await self.call("query.detail", "GET", f"/api/v1/orders/{order.number}", refuse=()))
        elif what == "list":
            status = self.rng.choice(sorted(self.world.pools) or ["allocated"])
            await self.call("query.list", "GET", "/api/v1/orders", params={"status": status, "limit": 20}, refuse=())
        elif what == "list_phone":
            assert order is not None
            await self.call("query.list", "GET", "/api/v1/orders", params={"phone": order.phone, "limit": 20},
                            refuse=())
        elif what in ("track", "track_wrong"):
            assert order is not None
            digits = order.phone[-4:]
            if what == "track_wrong":
                digits = f"{(int(digits) + 1) % 10_000:04d}"
            await self.call(f"query.{what}", "GET", f"/api/v1/track/{order.number}", token="",
                            params={"phone_last4": digits}, ok=(200,) if what == "track" else (),
                            refuse=() if what == "track" else (404,))
        elif what == "queue":
            await self.call("query.queue", "GET", "/api/v1/review/queue", params={"limit": 20}, refuse=())
        elif what == "stock":
            await self.call("query.stock", "GET", "/api/v1/stock",
                            params={"sku": self.rng.choice(sorted(self.catalogue.scarce))}, refuse=())
        elif what == "outbox":
            await self.call("query.outbox", "GET", "/api/v1/outbox", params={"status": "pending", "limit": 20},
                            refuse=())
        else:
            await self.call("query.overdue", "GET", "/api/v1/sla/overdue", refuse=())
        return True


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("code", "-"))
    except ValueError:
        return "-"


async def drive(base: str, world: World, tally: Tally, outages: Outages, catalogue: Catalogue, tokens: Tokens, *,
                clients: int, seconds: float, seed: int, run_id: str, grace: float = 180.0,
                habits: Habits = Habits()) -> float:
    """Run the clients for ``seconds``; then let each finish what it is doing (intake retries until
    ``grace`` has passed). Returns the seconds the load ran."""
    stop = asyncio.Event()
    give_up_at = [float("inf")]
    # Idle connections are dropped after 2 s, well before uvicorn's 5 s keep-alive timeout: with
    # equal timeouts a request sent on a connection the server is closing gets a ReadError.
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2, keepalive_expiry=2.0)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120,
                                 headers={"Accept-Language": "en"}) as http:
        runners = [Client(n, http, world, tally, outages, catalogue, tokens, seed=seed, run_id=run_id, stop=stop,
                          give_up_at=give_up_at, habits=habits) for n in range(clients)]
        tasks = [asyncio.create_task(c.run()) for c in runners]
        await asyncio.sleep(seconds)
        stop.set()
        give_up_at[0] = time.monotonic() + grace
        await asyncio.gather(*tasks)
    return time.monotonic() - started
