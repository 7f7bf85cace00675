"""The customer's status query without a token: status and the customer-visible timeline; a wrong
phone and an unknown number are indistinguishable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from ordo.entrypoints.api.app import create_app
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        yield c


def test_customer_sees_status_and_timeline_without_a_token(client, ordo, clock):
    staff = {"Authorization": f"Bearer {user_token(ordo, 'root', ['admin'])}"}
    number = client.post("/api/v1/orders", json=order_payload(), headers=staff).json()["number"]
    prepare_packing(ordo, number)
    for action in ("pick", "finish-pick", "check", "pack", "hand-over"):
        scan_before(ordo, number, action)
        assert client.post(f"/api/v1/orders/{number}/{action}", json={}, headers=staff).status_code == 200
    clock.advance(timedelta(hours=3))
    shipped = client.post(f"/api/v1/orders/{number}/ship", json={"carrier": "YTO Express",
                                                                  "tracking_number": "YT1234567890"}, headers=staff)
    assert shipped.status_code == 200
    r = client.get(f"/api/v1/track/{number}", params={"phone_last4": "5678"}, headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "number": number,
        "status": "shipped",
        "carrier": "YTO Economy",
        "tracking_numbers": ["YT1234567890"],
        "timeline": [
            {"at": "2026-03-15T02:00:00Z", "event": "placed", "text": f"Order {number} placed"},
            {"at": "2026-03-15T02:00:00Z", "event": "confirmed",
             "text": f"Your order {number} is confirmed and being prepared."},
            {"at": "2026-03-15T05:00:00Z", "event": "shipped",
             "text": f"Your order {number} has shipped with YTO Economy, tracking number YT1234567890."},
        ],
    }
    zh = client.get(f"/api/v1/track/{number}", params={"phone_last4": "5678"}, headers={"Accept-Language": "zh-CN"})
    assert zh.json()["timeline"][0]["text"] == f"订单 {number} 已提交"


def test_wrong_digits_and_unknown_numbers_get_the_same_404(client, ordo):
    staff = {"Authorization": f"Bearer {user_token(ordo, 'root', ['admin'])}"}
    number = client.post("/api/v1/orders", json=order_payload(), headers=staff).json()["number"]
    wrong = client.get(f"/api/v1/track/{number}", params={"phone_last4": "0000"})
    unknown = client.get("/api/v1/track/20990101001", params={"phone_last4": "5678"})
    assert wrong.status_code == unknown.status_code == 404
    # Both bodies only echo the number asked for.
    assert wrong.text.replace(number, "20990101001") == unknown.text
    assert client.get(f"/api/v1/track/{number}", params={"phone_last4": "56789"}).status_code == 404


def test_too_many_queries_from_one_address_are_refused_with_retry_after(database, clock):
    from ordo.bootstrap import Ordo
    from ordo.policy import NotifyPolicy, Policy
    from ordo.settings import Settings

    database.empty()
    policy = Policy(notify=NotifyPolicy(track_rate_limit="3/minute"))
    app = Ordo(Settings(database_url=database.url), clock=clock, policy=policy, engine=database.engine)
    with TestClient(create_app(app)) as c:
        answers = [c.get("/api/v1/track/20260315001", params={"phone_last4": "5678"}).status_code for _ in range(3)]
        assert answers == [404, 404, 404]
        refused = c.get("/api/v1/track/20260315001", params={"phone_last4": "5678"},
                        headers={"Accept-Language": "zh-CN"})
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["detail"] == f"请求过于频繁，请在 {refused.headers['Retry-After']} 秒后重试。"
    with TestClient(create_app(app)) as fresh:  # counters belong to the app (or the shared storage)
        assert fresh.get("/api/v1/track/20260315001", params={"phone_last4": "5678"}).status_code == 404


def test_a_malformed_rate_in_the_policy_is_refused():
    from pydantic import ValidationError

    from ordo.policy import NotifyPolicy

    with pytest.raises(ValidationError, match="track_rate_limit"):
        NotifyPolicy(track_rate_limit="lots")


def test_a_late_order_shows_the_delay_on_the_customer_timeline(client, ordo, clock):
    """The scan's delayed notice is a customer-visible event (order.delayed): queued once per
    channel and shown by the public status query."""
    from sqlalchemy import select

    from ordo.notify.tables import OutboxMessage
    from ordo.sla.handlers import scan

    staff = {"Authorization": f"Bearer {user_token(ordo, 'root', ['admin'])}"}
    number = client.post("/api/v1/orders", json=order_payload(), headers=staff).json()["number"]
    clock.advance(timedelta(hours=24, minutes=1))
    with ordo.transaction() as uow:
        assert len(scan(uow).breached) == 1
    with ordo.transaction() as uow:
        assert scan(uow).breached == []
    r = client.get(f"/api/v1/track/{number}", params={"phone_last4": "5678"}, headers={"Accept-Language": "en"})
    assert [(e["at"], e["event"]) for e in r.json()["timeline"]] == [
        ("2026-03-15T02:00:00Z", "placed"), ("2026-03-15T02:00:00Z", "confirmed"),
        ("2026-03-16T02:01:00Z", "delayed"),
    ]
    assert r.json()["timeline"][-1]["text"] == (
        f"Your order {number} is delayed. We are on it and will keep you informed.")
    with ordo.reading() as uow:
        keys = sorted(uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.topic == "customer.delayed")))
    assert keys == [f"notice:delayed:{number}:email", f"notice:delayed:{number}:sms"]
