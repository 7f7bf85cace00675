"""Review and risk control through the API, on SQLite and PostgreSQL: automatic decisions with
their evidence, the queue, claims, batch decisions, customer contact, two levels, rules, blacklist."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordo.auth.model import Actor
from ordo.entrypoints.api.app import create_app
from ordo.kernel.errors import Conflict
from ordo.notify.tables import OutboxMessage
from ordo.order import handlers as orders
from ordo.order.states import HoldReason
from ordo.order.tables import Order
from ordo.review import handlers as review
from ordo.review.tables import ReviewFinding
from tests.factories import BASE_ORDER, order_payload, seed, user_token

ORDERS, REVIEW = "/api/v1/orders", "/api/v1/review"
ADDRESS = BASE_ORDER["address"]
CUSTOMER = BASE_ORDER["customer"]


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


@pytest.fixture
def people(ordo, client):
    return {
        name: {"Authorization": f"Bearer {user_token(ordo, name, [role])}"}
        for name, role in (("cs1", "customer_service"), ("cs2", "customer_service"), ("head1", "reviewer"),
                           ("head2", "reviewer"), ("picker", "warehouse"))
    }


def post(client, **changes):
    r = client.post(ORDERS, json=order_payload(**changes))
    assert r.status_code == 201, r.text
    return r.json()


def cod(**changes):
    return {"payment": {"method": "cash_on_delivery", "status": "unpaid", "amount_paid": "0"}, **changes}


def queue(client, **params):
    r = client.get(f"{REVIEW}/queue", params=params)
    assert r.status_code == 200, r.text
    return [i["number"] for i in r.json()["items"]]


# --- automatic decisions -------------------------------------------------------------------------


def test_clean_paid_order_flows_through_without_a_case(client):
    order = post(client, external_id="C-1")
    assert order["status"] == "allocated"
    assert order["review"] == {
        "decision": {"rule_set_version": 0, "outcome": "clear", "rules": [], "score": 0,
                     "at": order["events"][-2]["at"], "event": "order.confirm"},
        "case": None, "findings": [], "contacts": [],
    }


def test_duplicate_within_30_minutes_is_held_with_evidence_then_the_customers_answer_releases_it(client, clock):
    first = post(client, external_id="D-1", customer=CUSTOMER, address=ADDRESS)
    clock.advance(timedelta(minutes=30))
    second = post(client, external_id="D-2", customer=CUSTOMER, address=ADDRESS)
    assert first["status"] == "allocated"
    assert second["status"] == "on_hold"
    assert [h["reason"] for h in second["holds"]] == ["duplicate_suspected"]
    [finding] = second["review"]["findings"]
    assert finding["message"] == (
        f"Same account, address ordered the same goods (TEA-001) within 30 min: {first['number']}."
    )
    assert (finding["rule"], finding["outcome"], finding["rule_set_version"]) == ("duplicate", "hold", 0)
    assert queue(client) == [second["number"]]
    zh = client.get(f"{ORDERS}/{second['number']}", headers={"Accept-Language": "zh-CN"}).json()
    assert zh["review"]["findings"][0]["message"] == (
        f"同一account, address在 30 min 内重复购买相同商品（TEA-001）：{first['number']}。"
    )

    contacted = client.post(f"{REVIEW}/orders/{second['number']}/contacts", json={"channel": "phone", "note": "打电话"})
    assert contacted.status_code == 201, contacted.text
    answered = client.post(f"{REVIEW}/orders/{second['number']}/answer", json={"note": "客户确认要两单"})
    assert answered.status_code == 200, answered.text
    after = client.get(f"{ORDERS}/{second['number']}").json()
    assert after["status"] == "allocated"
    assert after["review"]["findings"][0]["cleared_by"] == "root"
    assert after["review"]["case"]["status"] == "approved"
    assert queue(client) == []


def test_duplicate_31_minutes_later_is_not_held(client, clock):
    post(client, external_id="D-1", customer=CUSTOMER, address=ADDRESS)
    clock.advance(timedelta(minutes=30, seconds=1))
    assert post(client, external_id="D-2", customer=CUSTOMER, address=ADDRESS)["status"] == "allocated"


def test_third_order_from_one_phone_is_intercepted_and_the_customer_told(client, clock, ordo):
    skus = [("TEA-001", "25.00"), ("MUG-002", "39.90"), ("OIL-004", "59.00")]
    numbers = []
    for i, (sku, price) in enumerate(skus):
        clock.advance(timedelta(hours=3))
        goods = float(price)
        numbers.append(post(
            client, external_id=f"P-{i}", customer={"name": "李雷", "phone": "１３９ ００００ １１１１"},
            lines=[{"sku": sku, "quantity": 1, "unit_price": price}], total=f"{goods + 5:.2f}",
            payment={"method": "alipay", "status": "paid", "amount_paid": f"{goods + 5:.2f}"},
        ))
    assert [o["status"] for o in numbers] == ["allocated", "allocated", "on_hold"]
    third = numbers[2]
    assert [h["reason"] for h in third["holds"]] == ["risk_intercepted"]
    assert third["review"]["findings"][0]["message"] == (
        "The same phone placed 3 orders in the last 24 h: " + ", ".join(o["number"] for o in numbers) + "."
    )
    with ordo.reading() as uow:
        topics = uow.session.scalars(
            select(OutboxMessage.topic).where(OutboxMessage.key.like(f"notice:under_review:{third['number']}:%"))
        ).all()
    assert topics == ["customer.under_review"]


def test_abusive_remark_is_intercepted_until_a_reviewer_approves(client, people):
    order = post(client, external_id="A-1", remark="再不发货就 杀 了 你")
    assert (order["status"], order["holds"][0]["reason"]) == ("on_hold", "risk_intercepted")
    r = client.post(f"{REVIEW}/orders/{order['number']}/approve", json={"note": "已核实"}, headers=people["cs1"])
    assert r.status_code == 200, r.text
    after = client.get(f"{ORDERS}/{order['number']}").json()
    assert after["status"] == "allocated"
    names = [e["name"] for e in after["events"]]
    assert names.index("review.approved") < names.index("order.released") < names.index("order.confirm")


def test_blacklisted_phone_is_rejected_with_the_reason(client):
    r = client.post(f"{REVIEW}/blacklist",
                    json={"kind": "phone", "value": "１３８-1234-5678", "reason": "chargeback fraud"})
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "+8613812345678"
    order = post(client)
    assert order["status"] == "cancelled"
    reject = next(e for e in order["events"] if e["name"] == "order.reject")
    assert reject["reason"] == "blacklist"
    assert order["review"]["findings"][0]["message"] == (
        f"The phone is on the blacklist (entry {r.json()['id']}): chargeback fraud."
    )
    assert client.delete(f"{REVIEW}/blacklist/{r.json()['id']}").status_code == 200
    assert post(client, external_id="AFTER")["status"] == "allocated"
    assert client.get(f"{REVIEW}/blacklist").json() == []


def test_blacklisted_address_matches_another_spelling(client):
    r = client.post(f"{REVIEW}/blacklist", json={
        "kind": "address", "reason": "package theft",
        "address": {"country": "CN", "province": "上海", "city": "上海", "district": "浦东新区",
                    "street": "世纪大道 １００号"},
    })
    assert r.status_code == 201, r.text
    assert post(client, external_id="X-1", address=ADDRESS)["status"] == "cancelled"


def test_rejecting_a_malicious_order_blacklists_the_account(client, people):
    order = post(client, external_id="M-1", remark="fuck you")
    r = client.post(f"{REVIEW}/orders/{order['number']}/reject", json={"reason": "恶意订单", "blacklist": True},
                    headers=people["head1"])
    assert r.status_code == 200, r.text
    assert client.get(f"{ORDERS}/{order['number']}").json()["status"] == "cancelled"
    assert [(e["kind"], e["added_by"]) for e in client.get(f"{REVIEW}/blacklist").json()] == [
        ("account", "head1"), ("phone", "head1"),
    ]
    again = post(client, external_id="M-2", customer=order_payload(external_id="M-1")["customer"])
    assert again["status"] == "cancelled"
    # Customer service may not blacklist.
    other = post(client, external_id="M-3", remark="idiot")
    refused = client.post(f"{REVIEW}/orders/{other['number']}/reject", json={"reason": "x", "blacklist": True},
                          headers=people["cs1"])
    assert refused.status_code == 403


# --- the queue, claims, batch -------------------------------------------------------------------


def test_queue_puts_vip_first_then_order_class_then_age_and_filters(client, clock):
    vip = client.post("/api/v1/customers", json={"name": "VIP", "phone": "13700000009", "vip_level": 3})
    assert vip.status_code == 201, vip.text
    normal_old = post(client, external_id="Q-1", **cod())
    clock.advance(timedelta(minutes=5))
    urgent = post(client, external_id="Q-2", order_class="urgent", **cod())
    clock.advance(timedelta(minutes=5))
    vip_order = post(client, external_id="Q-3", customer={"name": "VIP", "phone": "13700000009"}, **cod())
    clock.advance(timedelta(minutes=5))
    tmall = post(client, external_id="Q-4", shop="tmall", **cod())
    assert {o["status"] for o in (normal_old, urgent, vip_order, tmall)} == {"pending_review"}
    assert queue(client) == [vip_order["number"], urgent["number"], normal_old["number"], tmall["number"]]
    assert queue(client, shop="tmall") == [tmall["number"]]
    assert queue(client, reason="payment_verification", limit=2) == [vip_order["number"], urgent["number"]]
    assert queue(client, reason="duplicate") == []
    client.post(f"{REVIEW}/orders/{urgent['number']}/claim")
    assert queue(client, reviewer="root") == [urgent["number"]]
    item = client.get(f"{REVIEW}/queue", params={"reviewer": "root"}).json()["items"][0]
    assert (item["claimed_by"], item["rules"], item["level"]) == ("root", ["payment_verification"], 1)


def test_a_claimed_order_belongs_to_its_reviewer_until_the_claim_lapses(client, people, clock):
    order = post(client, external_id="K-1", **cod())
    number = order["number"]
    assert client.post(f"{REVIEW}/orders/{number}/claim", headers=people["cs1"]).status_code == 200
    taken = client.post(f"{REVIEW}/orders/{number}/claim", headers=people["cs2"])
    assert (taken.status_code, taken.json()["detail"]) == (409, f"Order {number} is being reviewed by cs1.")
    zh = client.post(f"{REVIEW}/orders/{number}/approve", headers={**people["cs2"], "Accept-Language": "zh-CN"})
    assert (zh.status_code, zh.json()["detail"]) == (409, f"订单 {number} 正由 cs1 审核。")
    clock.advance(timedelta(minutes=30))
    assert client.post(f"{REVIEW}/orders/{number}/claim", headers=people["cs2"]).status_code == 200
    assert client.post(f"{REVIEW}/orders/{number}/approve", headers=people["cs2"]).status_code == 200
    assert client.get(f"{ORDERS}/{number}").json()["status"] == "allocated"


def test_two_reviewers_racing_for_one_order_exactly_one_wins(client, ordo):
    number = post(client, external_id="R-1", **cod())["number"]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def race(name: str) -> None:
        actor = Actor(name=name, roles=frozenset({"customer_service"}))
        barrier.wait()
        try:
            with ordo.transaction() as uow:
                review.claim(uow, number=number, actor=actor)
            results.append(f"won:{name}")
        except Conflict as exc:
            results.append(f"lost:{exc.params['by']}")

    threads = [threading.Thread(target=race, args=(n,)) for n in ("cs1", "cs2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [r for r in results if r.startswith("won:")]
    assert len(results) == 2 and len(winners) == 1
    assert results.count(f"lost:{winners[0][4:]}") == 1


def test_batch_approve_and_reject_report_per_order(client):
    a = post(client, external_id="B-1", **cod())["number"]
    b = post(client, external_id="B-2", **cod())["number"]
    clean = post(client, external_id="B-3")["number"]
    r = client.post(f"{REVIEW}/batch", json={"action": "approve", "numbers": [a, clean, "20991231001", b]})
    assert r.status_code == 200, r.text
    assert [(i["number"], i["ok"], i["status"], i["code"]) for i in r.json()] == [
        (a, True, "allocated", None),
        (clean, False, None, "illegal_transition"),
        ("20991231001", False, None, "not_found"),
        (b, True, "allocated", None),
    ]
    c = post(client, external_id="B-4", **cod())["number"]
    r = client.post(f"{REVIEW}/batch", json={"action": "reject", "numbers": [c], "reason": "地址无法核实"})
    assert [(i["number"], i["ok"], i["status"]) for i in r.json()] == [(c, True, "cancelled")]
    missing = client.post(f"{REVIEW}/batch", json={"action": "reject", "numbers": [c]})
    assert (missing.status_code, missing.json()["detail"]) == (422, "The request has invalid fields.")
    assert missing.json()["errors"][0]["field"] == "reason"


# --- customer contact -----------------------------------------------------------------------------


def test_silent_customer_is_held_after_two_hours_once_and_the_answer_resumes(client, clock):
    number = post(client, external_id="S-1", **cod())["number"]
    assert client.post(f"{REVIEW}/orders/{number}/contacts", json={"channel": "phone"}).status_code == 201
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert client.post(f"{REVIEW}/scan").json() == {"held": []}
    clock.advance(timedelta(seconds=1))
    assert client.post(f"{REVIEW}/scan").json() == {"held": [number]}
    assert client.post(f"{REVIEW}/scan").json() == {"held": []}
    held = client.get(f"{ORDERS}/{number}").json()
    assert (held["status"], [h["reason"] for h in held["holds"]]) == ("on_hold", ["awaiting_customer"])
    assert held["review"]["contacts"][0]["state"] == "held"
    r = client.post(f"{REVIEW}/orders/{number}/answer", json={"note": "客户确认货到付款"})
    assert r.status_code == 200, r.text
    after = client.get(f"{ORDERS}/{number}").json()
    assert after["status"] == "allocated"
    assert after["review"]["contacts"][0]["state"] == "answered"


def test_ask_the_customer_holds_at_once_and_an_answer_without_a_contact_is_refused(client):
    number = post(client, external_id="S-2", **cod())["number"]
    refused = client.post(f"{REVIEW}/orders/{number}/answer")
    assert (refused.status_code, refused.json()["detail"]) == (
        409, f"Order {number} has no contact attempt waiting for an answer."
    )
    r = client.post(f"{REVIEW}/orders/{number}/contacts", json={"channel": "sms", "hold": True, "note": "请确认"})
    assert r.status_code == 201
    assert client.get(f"{ORDERS}/{number}").json()["status"] == "on_hold"
    bad = client.post(f"{REVIEW}/orders/{number}/contacts", json={"channel": "pigeon"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "channel"


# --- two levels -----------------------------------------------------------------------------------


def test_second_review_needs_another_person_with_the_reviewer_role(client, people):
    big = post(client, external_id="T-1", lines=[{"sku": "PHONE-006", "quantity": 2, "unit_price": "4999.00"}],
               total="10003.00", payment={"method": "alipay", "status": "paid", "amount_paid": "10003.00"})
    number = big["number"]
    assert big["status"] == "pending_review"
    assert big["review"]["case"]["levels"] == 2
    assert big["review"]["findings"][0]["message"] == (
        "Needs the department head's second review: amount 10003.00 > 5000."
    )
    first = client.post(f"{REVIEW}/orders/{number}/approve", headers=people["head1"])
    assert first.status_code == 200, first.text
    assert first.json()["case"]["first_approved_by"] == "head1"
    waiting = client.get(f"{ORDERS}/{number}").json()
    assert waiting["status"] == "pending_review"
    clocks = {c["step"]: (c["status"], c["deadline"]) for c in waiting["clocks"]}
    assert clocks["review_waiting_alert"] == ("open", "2026-03-15T04:00:00Z")
    assert clocks["second_review"] == ("open", "2026-03-15T06:00:00Z")
    assert queue(client, level=2) == [number]
    same = client.post(f"{REVIEW}/orders/{number}/approve", headers=people["head1"])
    assert (same.status_code, same.json()["detail"]) == (
        409, f"Order {number}: head1 gave the first approval and cannot also give the second."
    )
    assert client.post(f"{REVIEW}/orders/{number}/approve", headers=people["cs1"]).status_code == 403
    # The order action "confirm" goes through the same review and is refused the same way.
    assert client.post(f"{ORDERS}/{number}/confirm", headers=people["head1"]).status_code == 409
    done = client.post(f"{REVIEW}/orders/{number}/approve", headers=people["head2"])
    assert done.status_code == 200, done.text
    after = client.get(f"{ORDERS}/{number}").json()
    assert after["status"] == "allocated"
    assert after["review"]["case"]["decided_by"] == "head2"
    clocks = {c["step"]: c["status"] for c in after["clocks"]}
    assert (clocks["review_waiting_alert"], clocks["second_review"]) == ("stopped", "stopped")


# --- rules as data --------------------------------------------------------------------------------


def test_rules_are_listed_edited_and_versioned(client, people, clock):
    listed = client.get(f"{REVIEW}/rules").json()
    assert listed["version"] == 0
    assert [r["code"] for r in listed["rules"]][:3] == ["blacklist", "abusive_remark", "same_contact"]
    dup = next(r for r in listed["rules"] if r["code"] == "duplicate")
    assert dup["params"] == {"window": "PT30M"}

    remote = {"province": "西藏", "city": "拉萨", "district": "城关区", "street": "北京中路1号", "country": "CN",
              "postcode": "850000"}
    before = post(client, external_id="V-1", address=remote)
    assert (before["status"], before["review"]["findings"][0]["rule_set_version"]) == ("pending_review", 0)

    r = client.patch(f"{REVIEW}/rules/remote_address", json={"enabled": False, "note": "peak season"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    r = client.patch(f"{REVIEW}/rules/duplicate", json={"params": {"window": "PT45M"}})
    assert r.json()["version"] == 2
    assert next(x for x in r.json()["rules"] if x["code"] == "duplicate")["params"] == {"window": "PT45M"}
    versions = client.get(f"{REVIEW}/rules/versions").json()
    assert [(v["version"], v["created_by"], v["note"]) for v in versions] == [
        (2, "root", "duplicate: params"), (1, "root", "peak season"),
    ]
    assert post(client, external_id="V-2", address={**remote, "street": "北京中路2号"})["status"] == "allocated"
    # The edited duplicate window is in force: 40 minutes apart is now a duplicate (was not at 30).
    buyer = {"name": "周八", "phone": "13700004545"}
    first = post(client, external_id="W-1", customer=buyer)
    clock.advance(timedelta(minutes=40))
    second = post(client, external_id="W-2", customer=buyer)
    assert (first["status"], second["status"]) == ("allocated", "on_hold")
    [dup] = second["review"]["findings"]
    assert (dup["rule"], dup["rule_set_version"], dup["evidence"]["window"], dup["related_orders"]) == (
        "duplicate", 2, "45 min", [first["number"]])

    bad = client.patch(f"{REVIEW}/rules/duplicate", json={"params": {"window": "soon", "colour": "red"}})
    assert bad.status_code == 422, bad.text
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["params.colour", "params.window"]
    assert client.patch(f"{REVIEW}/rules/nope", json={"enabled": False}).status_code == 404
    refused = client.patch(f"{REVIEW}/rules/duplicate", json={"enabled": False}, headers=people["head1"])
    assert refused.status_code == 403
    assert client.get(f"{REVIEW}/rules").json()["version"] == 2


# --- the CLI --------------------------------------------------------------------------------------


def test_cli_queue_decisions_rules_and_blacklist(client, ordo, monkeypatch, clock):
    from typer.testing import CliRunner

    from ordo.entrypoints.cli import common, main
    from ordo.entrypoints.cli import review as review_cli

    for module in (common, review_cli):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main.app, ["review", *args], env={"ORDO_LOCALE": "en", "COLUMNS": "200"})
        assert result.exit_code == code, result.output
        return result.output

    a = post(client, external_id="CLI-1", **cod())["number"]
    b = post(client, external_id="CLI-2", **cod())["number"]
    listed = run("queue")
    assert "2 waiting" in listed and a in listed and "Payment by cash_on_delivery" in listed
    assert run("claim", a) == f"{a}: claimed by system\n"
    assert run("approve", a) == f"{a}: allocated\n"
    assert run("batch", "reject", b, "20991231001", "--reason", "fake", code=1) == (
        f"{b}: cancelled\n20991231001: order 20991231001 not found.\n"
    )
    assert run("rules", "disable", "remote_address") == "review rules: version 1\n"
    assert run("rules", "set", "same_contact", "--param", "count=4", "--param", "window=PT12H") == (
        "review rules: version 2\n"
    )
    # The edited same_contact rule decides: three orders from one phone in 12 h pass, the fourth is held.
    phone = {"name": "吴九", "phone": "13700006464"}
    goods = [("TEA-001", "25.00"), ("MUG-002", "39.90"), ("OIL-004", "59.00"), ("TEA-001", "25.00")]
    statuses = []
    for i, (sku, price) in enumerate(goods):
        clock.advance(timedelta(hours=2))
        total = f"{float(price) + 5:.2f}"
        statuses.append(post(client, external_id=f"SC-{i}", customer=phone, total=total,
                             lines=[{"sku": sku, "quantity": 1, "unit_price": price}],
                             payment={"method": "alipay", "status": "paid", "amount_paid": total})["status"])
    assert statuses == ["allocated", "allocated", "allocated", "on_hold"]
    bad = run("rules", "set", "same_contact", "--param", "count=zero", code=2)
    assert "params.count" in bad
    assert "version 2" in run("rules", "list")
    assert run("blacklist", "add", "phone", "13900001111", "--reason", "fraud") == (
        "blacklist entry 1: +8613900001111\n"
    )
    assert 'value: "nocolon" must be written channel:account' in run(
        "blacklist", "add", "account", "nocolon", "--reason", "x", code=2)
    assert "+8613900001111" in run("blacklist", "list")
    assert run("blacklist", "remove", "1") == "blacklist entry 1 removed\n"


def test_cancel_and_reorder_three_times_in_a_week_sends_the_next_order_to_review(client, clock):
    customer = {"name": "韩梅梅", "phone": "13600001234"}
    cancelled = []
    for i in range(3):
        clock.advance(timedelta(days=2))
        order = post(client, external_id=f"CR-{i}", customer=customer,
                     address={**ADDRESS, "street": f"淮海路{i}号"})
        assert client.post(f"{ORDERS}/{order['number']}/cancel", json={"reason": "买家取消"}).status_code == 200
        cancelled.append(order["number"])
    clock.advance(timedelta(hours=1))
    fourth = post(client, external_id="CR-3", customer=customer, address={**ADDRESS, "street": "淮海路9号"})
    assert fourth["status"] == "pending_review"
    assert [f["message"] for f in fourth["review"]["findings"]] == [
        f"The account cancelled 3 orders in the last 7 d: {', '.join(cancelled)}."
    ]


def test_concurrent_duplicates_are_still_caught(client, ordo):
    """Two orders of the same buyer and goods at the same moment: the second sees the first."""
    from ordo.order.handlers import intake
    from ordo.order.model import OrderSubmission

    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def submit(external_id: str) -> None:
        submission = OrderSubmission.model_validate(
            order_payload(external_id=external_id, customer=CUSTOMER, address=ADDRESS))
        barrier.wait()
        number, _ = intake(ordo, submission=submission, actor=Actor.system())
        with ordo.reading() as uow:
            statuses.append(uow.session.scalars(select(Order.status).where(Order.number == number)).one())

    threads = [threading.Thread(target=submit, args=(e,)) for e in ("CC-1", "CC-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == ["allocated", "on_hold"]


# --- which rule-set version decided ----------------------------------------------------------------

UNPAID = {"payment": {"method": "alipay", "status": "unpaid", "amount_paid": "0"}}


def screening_events(order):
    """(event, rule-set version, outcome) of every event the automatic review wrote."""
    return [(e["name"], e["data"]["rule_set_version"], e["data"]["outcome"])
            for e in order["events"] if e["data"] and "rule_set_version" in e["data"]]


def test_every_decision_records_the_rule_set_version_that_made_it(client, ordo):
    # Given the rules edited once (version 1)
    assert client.patch(f"{REVIEW}/rules/remote_address", json={"enabled": False}).json()["version"] == 1
    # When a clean order, a flagged order and a blacklisted order come in
    clean = post(client, external_id="RV-1")
    flagged = post(client, external_id="RV-2", remark="fuck you")
    assert client.post(f"{REVIEW}/blacklist", json={"kind": "phone", "value": "13700007777",
                                                    "reason": "fraud"}).status_code == 201
    rejected = post(client, external_id="RV-3", customer={"name": "王五", "phone": "13700007777"})
    # Then each decision names version 1, in its events, its case and the order's review section
    assert clean["status"] == "allocated"
    assert screening_events(clean) == [("order.confirm", 1, "clear")]
    assert (clean["review"]["decision"]["rule_set_version"], clean["review"]["case"]) == (1, None)
    assert flagged["status"] == "on_hold"
    assert screening_events(flagged) == [("order.hold", 1, "hold"), ("review.queued", 1, "hold")]
    hold = next(e for e in flagged["events"] if e["name"] == "order.hold")
    assert hold["data"] == {"note": "abusive_remark", "rule_set_version": 1, "outcome": "hold",
                            "rules": ["abusive_remark"], "score": 50}
    assert (flagged["review"]["case"]["rule_set_version"], flagged["review"]["decision"]["rule_set_version"],
            flagged["review"]["findings"][0]["rule_set_version"]) == (1, 1, 1)
    assert rejected["status"] == "cancelled"
    assert screening_events(rejected) == [("order.reject", 1, "reject")]
    assert rejected["review"]["decision"]["outcome"] == "reject"


def test_rules_run_again_under_a_newer_version_record_the_new_version(client):
    # Given an unpaid order screened under version 0
    order = post(client, external_id="RV-4", **UNPAID)
    assert order["status"] == "pending_payment"
    assert order["review"]["decision"] is None  # clear and still waiting: nothing decided yet
    # When the rules change and then the payment arrives
    assert client.patch(f"{REVIEW}/rules/remote_address", json={"enabled": False}).json()["version"] == 1
    paid = client.post(f"{ORDERS}/{order['number']}/pay", json={})
    assert paid.status_code == 200, paid.text
    # Then the confirmation names version 1
    assert paid.json()["status"] == "allocated"
    assert screening_events(paid.json()) == [("order.confirm", 1, "clear")]


# --- automatic review runs again when payment arrives or a hold is released ------------------------


def blacklist_phone(client, phone):
    r = client.post(f"{REVIEW}/blacklist", json={"kind": "phone", "value": phone, "reason": "chargeback fraud"})
    assert r.status_code == 201, r.text


def test_payment_reruns_the_rules_a_phone_blacklisted_after_intake_rejects(client):
    # Given an unpaid order that passed the rules, and its phone blacklisted afterwards
    order = post(client, external_id="RR-1", customer={"name": "赵六", "phone": "13700001001"}, **UNPAID)
    assert order["status"] == "pending_payment"
    blacklist_phone(client, "13700001001")
    # When the payment arrives
    paid = client.post(f"{ORDERS}/{order['number']}/pay", json={})
    # Then the rules ran again and rejected it for the blacklist
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "cancelled"
    reject = next(e for e in body["events"] if e["name"] == "order.reject")
    assert (reject["reason"], reject["data"]["rule_set_version"]) == ("blacklist", 0)
    assert [f["rule"] for f in body["review"]["findings"]] == ["blacklist"]


def test_releasing_a_manual_hold_reruns_the_rules_a_phone_blacklisted_meanwhile_rejects(client):
    # Given a clean order held by a person before it was confirmed, then its phone blacklisted
    order = post(client, external_id="RR-2", customer={"name": "孙七", "phone": "13700001002"}, **UNPAID)
    held = client.post(f"{ORDERS}/{order['number']}/hold", json={"hold_reason": "other", "note": "check"})
    assert (held.status_code, held.json()["status"]) == (200, "on_hold"), held.text
    blacklist_phone(client, "13700001002")
    assert client.post(f"{ORDERS}/{order['number']}/pay", json={}).json()["status"] == "on_hold"
    # When the person releases the hold
    released = client.post(f"{ORDERS}/{order['number']}/release", json={"hold_reason": "other"})
    # Then the rules ran again and rejected it for the blacklist
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["status"] == "cancelled"
    assert next(e for e in body["events"] if e["name"] == "order.reject")["reason"] == "blacklist"
    assert [h["released_at"] is not None for h in body["holds"]] == [True]


# --- the queue shows the findings; findings link the earlier orders ---------------------------------


def test_queue_items_carry_their_findings_with_rule_score_evidence_and_the_linked_orders(client, clock):
    # Given a duplicate held 10 minutes after the first order
    first = post(client, external_id="QF-1", customer=CUSTOMER, address=ADDRESS)
    clock.advance(timedelta(minutes=10))
    second = post(client, external_id="QF-2", customer=CUSTOMER, address=ADDRESS)
    # When the queue is read
    r = client.get(f"{REVIEW}/queue")
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    # Then the item carries the decision's score and each open finding with rule, score and evidence
    assert (item["number"], item["rules"], item["score"]) == (second["number"], ["duplicate"], 30)
    assert [(f["rule"], f["outcome"], f["score"], f["evidence"], f["related_orders"]) for f in item["findings"]] == [
        ("duplicate", "hold", 30,
         {"by": "account, address", "window": "30 min", "orders": first["number"], "skus": "TEA-001"},
         [first["number"]]),
    ]
    assert item["findings"][0]["message"] == (
        f"Same account, address ordered the same goods (TEA-001) within 30 min: {first['number']}."
    )


def test_third_order_from_one_phone_links_the_two_earlier_orders(client, clock):
    phone = {"name": "郑十", "phone": "13700008181"}
    numbers = []
    for i, (sku, price) in enumerate([("TEA-001", "25.00"), ("MUG-002", "39.90"), ("OIL-004", "59.00")]):
        clock.advance(timedelta(hours=1))
        total = f"{float(price) + 5:.2f}"
        numbers.append(post(client, external_id=f"L-{i}", customer=phone, total=total,
                            lines=[{"sku": sku, "quantity": 1, "unit_price": price}],
                            payment={"method": "alipay", "status": "paid", "amount_paid": total})["number"])
    third = client.get(f"{ORDERS}/{numbers[2]}").json()
    [finding] = [f for f in third["review"]["findings"] if f["rule"] == "same_contact"]
    assert finding["related_orders"] == numbers[:2]


# --- virtual-operator phones written with full-width digits ------------------------------------------


def test_virtual_operator_phone_in_full_width_digits_is_flagged_for_review(client):
    # Given an order over the promotion limit whose phone is a 170 number typed in full-width digits
    order = post(client, external_id="VP-1", customer={"name": "钱一", "phone": "１７０ １２３４ ５６７８"},
                 lines=[{"sku": "TEA-001", "quantity": 4, "unit_price": "25.00"}], total="105.00",
                 payment={"method": "alipay", "status": "paid", "amount_paid": "105.00"})
    # Then the phone is normalised and the virtual-operator rule sends the order to review
    assert order["status"] == "pending_review"
    assert [(f["rule"], f["outcome"], f["score"], f["evidence"]) for f in order["review"]["findings"]] == [
        ("virtual_phone", "review", 20, {"phone": "+8617012345678"}),
    ]
    assert order["review"]["findings"][0]["message"] == "The phone number +8617012345678 belongs to a virtual operator."
    assert queue(client, reason="virtual_phone") == [order["number"]]


def test_settling_findings_clears_only_the_matching_open_ones_and_the_sessions_copies_with_them(client, ordo, clock):
    number = post(client, external_id="S-1")["number"]
    found = clock.now()
    with ordo.transaction() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        uow.session.add_all([
            ReviewFinding(order_id=order.id, customer_id=order.customer_id, rule="r", kind="k", outcome="hold",
                          hold_reason=reason, score=1, message="m", evidence={}, cleared_by_contact=contact,
                          rule_set_version=0, found_at=found, cleared_at=cleared, cleared_by=by)
            for reason, contact, cleared, by in (
                ("duplicate_suspected", False, None, None),
                ("awaiting_customer", True, None, None),
                ("duplicate_suspected", False, found, "earlier"),
                (None, False, None, None),
            )])
    clock.advance(timedelta(minutes=5))
    with ordo.transaction() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        held = uow.session.scalars(select(ReviewFinding).where(ReviewFinding.order_id == order.id)
                                   .order_by(ReviewFinding.id)).all()
        assert orders.settle_findings(uow, order, actor="cs1", hold_reason=HoldReason.DUPLICATE_SUSPECTED) == 1
        # The session's copies say what the database now holds, without being read again.
        assert [(f.cleared_at, f.cleared_by) for f in held] == [
            (clock.now(), "cs1"), (None, None), (found, "earlier"), (None, None)]
        assert orders.settle_findings(uow, order, actor="cs2", by_contact=True) == 1
        assert orders.settle_findings(uow, order, actor="cs2", hold_reason=HoldReason.DUPLICATE_SUSPECTED) == 0
    with ordo.reading() as uow:
        stored = uow.session.execute(select(ReviewFinding.cleared_by, ReviewFinding.cleared_at)
                                     .order_by(ReviewFinding.id)).all()
    assert [tuple(row) for row in stored] == [
        ("cs1", clock.now()), ("cs2", clock.now()), ("earlier", found), (None, None)]
    with ordo.transaction() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        assert orders.settle_findings(uow, order, actor="head1") == 1
