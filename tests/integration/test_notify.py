"""Outbox delivery on both databases: real SMTP and HTTP receivers on 127.0.0.1, retries with
backoff, dead letters and their retry, customer notices queued by events."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordo.adapters.messaging.base import FakeChannel
from ordo.adapters.messaging.email import SmtpEmail
from ordo.adapters.messaging.sms import FileSmsProvider, SmsChannel
from ordo.adapters.messaging.webhook import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, WebhookChannel, verify
from ordo.auth.model import Actor
from ordo.entrypoints.api.app import create_app
from ordo.fulfillment.states import ShipmentTrigger
from ordo.notify.outbox import enqueue
from ordo.notify.tables import OutboxMessage
from ordo.notify.worker import deliver_due
from ordo.order import handlers
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, scan_before, seed, user_token

SYSTEM = Actor.system()
SECRET = "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_next = 0
    arrived = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify(SECRET, self.headers[TIMESTAMP], body, self.headers[SIGNATURE])
        if not ok or Receiver.fail_next > 0:
            Receiver.fail_next -= 1
            self.send_response(401 if not ok else 503)
            self.end_headers()
            return
        Receiver.received.append({"key": self.headers[IDEMPOTENCY_KEY], "body": json.loads(body)})
        Receiver.arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.fail_next, Receiver.arrived = [], 0, threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/ordo"
    finally:
        server.shutdown()
        server.server_close()


def outbox(ordo) -> list[tuple]:
    with ordo.transaction() as uow:
        return [(m.topic, m.audience, m.status, m.attempts, m.payload.get("channel"))
                for m in uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_shipping_queues_customer_notices_and_the_worker_delivers_them(ordo, smtp, tmp_path):
    inbox, port = smtp
    seed(ordo)
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=SYSTEM)
    for trigger in (ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK, ShipmentTrigger.CHECK,
                    ShipmentTrigger.PACK, ShipmentTrigger.HAND_OVER):
        scan_before(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM)
    with ordo.transaction() as uow:
        handlers.advance_shipments(uow, number=number, trigger=ShipmentTrigger.SHIP, actor=SYSTEM, carrier="SF Express",
                                   tracking_number="SF1234567890")
    assert outbox(ordo) == [
        ("customer.confirmed", "customer", "pending", 0, "email"),
        ("customer.confirmed", "customer", "pending", 0, "sms"),
        ("customer.shipped", "customer", "pending", 0, "email"),
        ("customer.shipped", "customer", "pending", 0, "sms"),
    ]
    sms_file = tmp_path / "sms.log"
    channels = {"email": SmtpEmail("127.0.0.1", port, "noreply@ordo.test"),
                "sms": SmsChannel(FileSmsProvider(sms_file))}
    result = deliver_due(ordo, channels)
    assert len(result.sent) == 4 and result.retried == result.dead == []
    assert inbox.arrived.wait(10)
    assert [(m[0], m[1]) for m in inbox.messages] == [("noreply@ordo.test", ["zhang.wei@example.cn"])] * 2
    shipped = inbox.messages[1][2].decode()
    assert "Subject: =?utf-8?" in shipped and f"X-Ordo-Key: notice:shipped:{number}-1:email" in shipped
    texts = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()]
    assert [t["to"] for t in texts] == ["+8613812345678"] * 2
    assert texts[1]["text"] == f"您的订单 {number} 已由SF Express发出，运单号 SF1234567890。"
    assert [row[2] for row in outbox(ordo)] == ["sent"] * 4
    assert deliver_due(ordo, channels).sent == []  # nothing delivered twice


def test_signed_webhook_retried_with_backoff_then_delivered(ordo, clock, receiver):
    with ordo.transaction() as uow:
        enqueue(uow.session, topic="order.shipped", key="order.shipped:1", audience="webhook", at=clock.now(),
                payload={"channel": "webhook", "to": receiver, "subject": "s", "body": "b", "order": "1"})
    Receiver.fail_next = 1
    channels = {"webhook": WebhookChannel(SECRET, clock=clock)}
    first = deliver_due(ordo, channels)
    assert (first.sent, len(first.retried)) == ([], 1)
    with ordo.transaction() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts, row.available_at) == ("pending", 1, clock.now() + timedelta(seconds=30))
        assert "503" in row.last_error
    assert deliver_due(ordo, channels).sent == []  # not due before the backoff ends
    clock.advance(timedelta(seconds=30))
    assert len(deliver_due(ordo, channels).sent) == 1
    assert Receiver.arrived.wait(10)
    [got] = Receiver.received
    assert got["key"] == "order.shipped:1"
    assert (got["body"]["topic"], got["body"]["data"]["order"]) == ("order.shipped", "1")


def test_a_wrong_secret_is_refused_by_the_receiver(ordo, clock, receiver):
    with ordo.transaction() as uow:
        enqueue(uow.session, topic="t", key="k1", audience="webhook", at=clock.now(),
                payload={"channel": "webhook", "to": receiver})
    assert len(deliver_due(ordo, {"webhook": WebhookChannel("wrong", clock=clock)}).retried) == 1
    assert Receiver.received == []


def test_dead_letter_after_max_attempts_then_admin_retry(ordo, clock):
    seed(ordo)
    with ordo.transaction() as uow:
        enqueue(uow.session, topic="sla.breached", key="sla.breached:9", audience="supervisor", at=clock.now(),
                payload={"step": "picking"})
    fake = FakeChannel(failures=100)
    waits = []
    for _ in range(ordo.policy.notify.max_attempts):
        result = deliver_due(ordo, {"email": fake})
        with ordo.transaction() as uow:
            row = uow.session.scalars(select(OutboxMessage)).one()
            waits.append(int((row.available_at - clock.now()).total_seconds()))
        clock.advance(timedelta(hours=2))
    assert result.dead == [row.id] and row.status == "dead" and row.attempts == 8
    assert waits[:7] == [30, 60, 120, 240, 480, 960, 1920]
    fake.failures = 0
    with TestClient(create_app(ordo)) as client:
        client.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        assert [m["key"] for m in client.get("/api/v1/outbox", params={"status": "dead"}).json()] == ["sla.breached:9"]
        retried = client.post(f"/api/v1/outbox/{row.id}/retry")
        assert (retried.status_code, retried.json()["status"], retried.json()["attempts"]) == (200, "pending", 0)
        assert client.post(f"/api/v1/outbox/{row.id}/retry").json()["code"] == "conflict"
    assert len(deliver_due(ordo, {"email": fake}).sent) == 1
    [mail] = fake.sent
    assert (mail.channel, mail.to, mail.subject) == ("email", "ops@ordo.local", "[ordo supervisor] sla.breached")


def test_a_crashed_worker_s_claim_is_taken_again_after_the_lease(ordo, clock):
    from ordo.notify.worker import claim

    with ordo.transaction() as uow:
        enqueue(uow.session, topic="t", key="k", audience="supervisor", at=clock.now(), payload={})
    with ordo.transaction() as uow:
        assert len(claim(uow)) == 1  # the worker dies here
    with ordo.transaction() as uow:
        assert claim(uow) == []
    clock.advance(ordo.policy.notify.lease)
    assert len(deliver_due(ordo, {"email": FakeChannel()}).sent) == 1


@pytest.mark.postgres_only
def test_two_workers_claim_each_message_once(ordo, database, clock):
    if database.kind != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    from ordo.notify.worker import claim

    with ordo.transaction() as uow:
        for i in range(40):
            enqueue(uow.session, topic="t", key=f"k{i}", audience="supervisor", at=clock.now(), payload={})
    barrier, taken = threading.Barrier(2), []

    def worker() -> None:
        with ordo.transaction() as uow:
            barrier.wait()
            taken.extend(c.id for c in claim(uow, limit=40))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == len(set(taken)) == 40


def test_every_template_speaks_both_languages_and_names_its_facts():
    from ordo.notify.templates import LANGUAGES, TEMPLATES, render

    assert sorted(TEMPLATES) == sorted(
        ["confirmed", "out_of_stock", "shipped", "customs_cleared", "out_for_delivery", "delivered", "delayed",
         "cancelled", "refunded", "under_review"]
    )
    assert all(sorted(texts) == sorted(LANGUAGES) for texts in TEMPLATES.values())
    shipped = render("shipped", "en", {"order": "20260315001", "carrier": "SF Express", "tracking": "SF1"})
    assert (shipped.subject, shipped.body) == (
        "Order 20260315001 shipped", "Your order 20260315001 has shipped with SF Express, tracking number SF1."
    )
    assert render("refunded", "zh-CN", {"order": "1", "amount": "55.00", "currency": "CNY"}).body == (
        "订单 1 的退款 55.00 CNY 已原路退回。"
    )
    assert render("shipped", "fr", {"order": "1"}).body == "Your order 1 has shipped with -, tracking number -."
