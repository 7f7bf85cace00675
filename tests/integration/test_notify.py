"""Outbox delivery on both databases: real SMTP and HTTP receivers on 127.0.0.1, retries with
backoff, dead letters and their retry, customer notices queued by events."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
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
from tests.factories import order_payload, prepare_packing, prepare_step, scan_before, seed, user_token

SYSTEM = Actor.system()
SECRET = "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """What the SMTP server process received, read from the files it writes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        found = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.directory.glob("*.json"))]
        return [(m["mail_from"], m["rcpt_tos"], m["content"].encode()) for m in found]

    def wait(self, count: int, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(list(self.directory.glob("*.json"))) >= count:
                return True
            time.sleep(0.05)
        return False


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"smtp server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"smtp server not listening on {port}")


@pytest.fixture
def smtp(tmp_path) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server in its own process on 127.0.0.1 (tests/smtp_sink.py)."""
    port, directory = free_port(), tmp_path / "mails"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parents[1] / "smtp_sink.py"), "--port", str(port), "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        yield Mailbox(directory), port
    finally:
        process.terminate()
        process.wait(10)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A subscriber's endpoint: checks the HMAC signature with the secret of the path's subscriber
    (``/hooks/<name>``) and that the timestamp is fresh by the receiver's own clock."""

    received: list[dict] = []
    refused: list[str] = []
    fail_next = 0
    arrived = threading.Event()
    secrets: dict[str, str] = {}
    clock = None  # the receiver's notion of now (the test's clock)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        secret = Receiver.secrets.get(self.path.rsplit("/", 1)[-1], SECRET)
        now = Receiver.clock.now() if Receiver.clock is not None else None
        ok = verify(secret, self.headers[TIMESTAMP], body, self.headers[SIGNATURE], now=now,
                    tolerance=timedelta(minutes=5))
        if not ok:
            Receiver.refused.append(self.path)
        if not ok or Receiver.fail_next > 0:
            Receiver.fail_next -= 1
            self.send_response(401 if not ok else 503)
            self.end_headers()
            return
        Receiver.received.append({"key": self.headers[IDEMPOTENCY_KEY], "body": json.loads(body), "path": self.path})
        Receiver.arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.refused, Receiver.fail_next, Receiver.arrived = [], [], 0, threading.Event()
    Receiver.secrets, Receiver.clock = {}, None
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
    prepare_packing(ordo, number)
    for trigger in (ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK, ShipmentTrigger.CHECK,
                    ShipmentTrigger.PACK, ShipmentTrigger.HAND_OVER):
        scan_before(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM)
    with ordo.transaction() as uow:
        handlers.advance_shipments(uow, number=number, trigger=ShipmentTrigger.SHIP, actor=SYSTEM,
                                   tracking_number="YT1234567890")
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
    assert inbox.wait(2)
    assert [(m[0], m[1]) for m in inbox.messages] == [("noreply@ordo.test", ["zhang.wei@example.cn"])] * 2
    shipped = inbox.messages[1][2].decode()
    assert "Subject: =?utf-8?" in shipped and f"X-Ordo-Key: notice:shipped:{number}-1:email" in shipped
    texts = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()]
    assert [t["to"] for t in texts] == ["+8613812345678"] * 2
    assert texts[1]["text"] == f"您的订单 {number} 已由YTO Economy发出，运单号 YT1234567890。"
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


def customer_notices(ordo) -> list[tuple[str, str]]:
    with ordo.reading() as uow:
        return [(m.payload["template"], m.payload["channel"]) for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.audience == "customer").order_by(OutboxMessage.id))]


def test_out_of_stock_and_cancelled_notices_follow_the_real_actions(ordo):
    seed(ordo, stock=0)
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=SYSTEM)
    assert customer_notices(ordo) == [("confirmed", "email"), ("confirmed", "sms"),
                                      ("out_of_stock", "email"), ("out_of_stock", "sms")]
    with ordo.transaction() as uow:
        handlers.cancel(uow, number=number, actor=SYSTEM, reason="customer chose to cancel")
    assert customer_notices(ordo)[4:] == [("cancelled", "email"), ("cancelled", "sms")]


def test_out_for_delivery_and_delivered_notices_carry_the_tracking_number(ordo):
    seed(ordo)
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=SYSTEM)
    for trigger in (ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK, ShipmentTrigger.CHECK,
                    ShipmentTrigger.PACK, ShipmentTrigger.HAND_OVER, ShipmentTrigger.SHIP,
                    ShipmentTrigger.OUT_FOR_DELIVERY, ShipmentTrigger.DELIVER):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM,
                                       tracking_number="YT77")
    assert [t for t, channel in customer_notices(ordo) if channel == "sms"] == [
        "confirmed", "shipped", "out_for_delivery", "delivered"]
    with ordo.reading() as uow:
        out = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.key == f"notice:out_for_delivery:{number}-1:email")).one()
        assert out.payload["body"] == f"您的订单 {number}（运单号 YT77）正在派送，请保持电话畅通。"


def test_customs_cleared_notice_is_queued_when_the_clearance_leg_is_recorded(ordo):
    """Air freight through the real legs: a customs hold tells logistics, not the customer; the
    clearance leg queues the customs-cleared notice (e-mail and SMS, with the tracking number) in
    its own transaction; recording the clearance again is refused and queues nothing more."""
    from ordo.auth.model import Role
    from ordo.catalog.tables import Sku
    from ordo.inventory.tables import Warehouse
    from ordo.kernel.errors import Conflict
    from ordo.shipping.crossborder.handlers import record_leg
    from ordo.shipping.crossborder.schemas import LegActionIn

    seed(ordo)
    with ordo.transaction() as uow:
        uow.session.scalars(select(Warehouse).where(Warehouse.code == "WH-SH")).one().serves = ["US"]
        uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one().origin_country = "CN"
    payload = order_payload(
        external_id="AIR-9", service_type="intl_air", order_class="cross_border", shipping_fee="60.00",
        total="105.00", payment={"method": "card", "status": "paid", "amount_paid": "105.00"},
        customer={"name": "Jane Doe", "phone": "+8613812345678", "email": "jane@example.com"},
        address={"country": "US", "province": "CA", "city": "Los Angeles", "district": "", "street": "1 Main St",
                 "postcode": "90001"})
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(payload), actor=SYSTEM)
    for trigger in (ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK, ShipmentTrigger.CHECK,
                    ShipmentTrigger.PACK, ShipmentTrigger.HAND_OVER, ShipmentTrigger.SHIP):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM, carrier="DHL Express",
                                       tracking_number="DHL5")
    logistics = Actor(name="logistics", roles=frozenset({Role.LOGISTICS}))

    def leg(name: str, **body) -> None:
        with ordo.transaction() as uow:
            record_leg(uow, shipment=f"{number}-1", leg=name, body=LegActionIn(**body), actor=logistics)

    leg("export_booking", action="book", reference="BK-9", carrier="Kuehne+Nagel", requested_date="2026-03-16")
    leg("export_declaration", action="declare", reference="EXP-9")
    leg("international_transport", action="depart", reference="CA987")
    leg("arrival", action="arrive")
    leg("customs_clearance", action="hold", reason="invoice missing")
    before = customer_notices(ordo)
    assert before == [("confirmed", "email"), ("confirmed", "sms"), ("shipped", "email"), ("shipped", "sms")]

    leg("customs_clearance", action="clear", reference="CBP-9")

    assert customer_notices(ordo) == [*before, ("customs_cleared", "email"), ("customs_cleared", "sms")]
    with ordo.reading() as uow:
        cleared = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.key == f"notice:customs_cleared:{number}-1:email")).one()
        assert (cleared.topic, cleared.audience, cleared.status, cleared.payload["to"], cleared.payload["body"]) == (
            "customer.customs_cleared", "customer", "pending", "jane@example.com",
            f"Your order {number} (DHL5) has cleared customs.")  # a US address: in English
    with pytest.raises(Conflict) as again:
        leg("customs_clearance", action="clear", reference="CBP-9")
    assert again.value.key == "leg_completed"
    assert len(customer_notices(ordo)) == len(before) + 2


class Exploding:
    """A channel with a bug: raises something that is not a DeliveryFailed."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message) -> None:
        self.calls += 1
        raise KeyError("template")


def test_any_exception_of_a_channel_is_a_failed_attempt_and_the_round_goes_on(ordo, clock):
    with ordo.transaction() as uow:
        enqueue(uow.session, topic="a", key="bug:1", audience="customer", at=clock.now(),
                payload={"channel": "sms", "to": "+8613800000000", "body": "x"})
        enqueue(uow.session, topic="b", key="ok:2", audience="supervisor", at=clock.now(), payload={})
    bug, fine = Exploding(), FakeChannel()
    channels = {"sms": bug, "email": fine}
    first = deliver_due(ordo, channels)
    assert (len(first.retried), len(first.sent), len(fine.sent)) == (1, 1, 1)  # the second message still went
    with ordo.reading() as uow:
        row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.key == "bug:1")).one()
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "KeyError: 'template'")
        assert row.available_at == clock.now() + timedelta(seconds=30)
    for _ in range(ordo.policy.notify.max_attempts - 1):
        clock.advance(timedelta(hours=2))
        last = deliver_due(ordo, channels)
    assert len(last.dead) == 1 and bug.calls == ordo.policy.notify.max_attempts
    with ordo.reading() as uow:
        assert uow.session.scalars(select(OutboxMessage.status).where(OutboxMessage.key == "bug:1")).one() == "dead"
        assert uow.session.scalars(select(OutboxMessage.status).where(OutboxMessage.status == "sending")).all() == []


def test_a_shipment_reaches_each_subscriber_that_wants_it_signed_and_fresh(database, clock, receiver, monkeypatch):
    """From a customer-visible change (the order ships) to a real HTTP receiver on 127.0.0.1: one
    outbox message per subscriber that asked for the event, each signed with its own secret taken
    from the environment; the receiver checks the signature and the timestamp's freshness."""
    from ordo.bootstrap import Ordo
    from ordo.entrypoints.worker.runner import build_channels
    from ordo.policy import NotifyPolicy, Policy, WebhookSubscriber
    from ordo.settings import Settings

    database.empty()
    base = receiver.rsplit("/", 1)[0]
    subscribers = (
        WebhookSubscriber(name="erp", url=f"{base}/erp", events=("shipped", "delivered"), secret_env="ERP_HOOK"),
        WebhookSubscriber(name="crm", url=f"{base}/crm", events=("shipment.ship",), secret_env="CRM_HOOK"),
        WebhookSubscriber(name="audit", url=f"{base}/audit", events=("cancelled",), secret_env="AUDIT_HOOK"),
    )
    ordo = Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine,
                policy=Policy(notify=NotifyPolicy(webhooks=subscribers)))
    monkeypatch.setenv("ERP_HOOK", "erp-secret")
    monkeypatch.setenv("CRM_HOOK", "crm-secret")
    Receiver.secrets, Receiver.clock = {"erp": "erp-secret", "crm": "crm-secret"}, clock
    seed(ordo)
    number, _ = handlers.intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=SYSTEM)
    for trigger in (ShipmentTrigger.START_PICK, ShipmentTrigger.FINISH_PICK, ShipmentTrigger.CHECK,
                    ShipmentTrigger.PACK, ShipmentTrigger.HAND_OVER):
        prepare_step(ordo, number, trigger)
        with ordo.transaction() as uow:
            handlers.advance_shipments(uow, number=number, trigger=trigger, actor=SYSTEM)
    with ordo.transaction() as uow:
        handlers.advance_shipments(uow, number=number, trigger=ShipmentTrigger.SHIP, actor=SYSTEM,
                                   tracking_number="YT9")
    with ordo.reading() as uow:
        hooks = [(m.key, m.payload["to"]) for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.audience == "webhook").order_by(OutboxMessage.id))]
    assert hooks == [(f"notice:shipped:{number}-1:webhook:erp", f"{base}/erp"),
                     (f"notice:shipped:{number}-1:webhook:crm", f"{base}/crm")]
    channels = build_channels(ordo)
    result = deliver_due(ordo, {"webhook": channels["webhook"], "email": FakeChannel(), "sms": FakeChannel()})
    assert len(result.sent) == 6 and result.retried == []  # confirmed and shipped by e-mail and SMS, 2 hooks
    got = sorted((r["path"], r["key"], r["body"]["data"]["params"]["tracking"]) for r in Receiver.received)
    assert got == [("/hooks/crm", f"notice:shipped:{number}-1:webhook:crm", "YT9"),
                   ("/hooks/erp", f"notice:shipped:{number}-1:webhook:erp", "YT9")]
    assert Receiver.refused == []


def test_the_receiver_refuses_a_stale_or_forged_request(ordo, clock, receiver):
    from ordo.kernel.clock import FixedClock

    Receiver.clock = clock
    with ordo.transaction() as uow:
        enqueue(uow.session, topic="t", key="k-stale", audience="webhook", at=clock.now(),
                payload={"channel": "webhook", "to": receiver})
    late = FixedClock(clock.now() - timedelta(minutes=6))  # a replay of a request signed 6 minutes ago
    assert len(deliver_due(ordo, {"webhook": WebhookChannel(SECRET, clock=late)}).retried) == 1
    assert (Receiver.received, Receiver.refused) == ([], ["/hooks/ordo"])
    clock.advance(timedelta(seconds=30))
    assert len(deliver_due(ordo, {"webhook": WebhookChannel(SECRET, clock=clock)}).sent) == 1
    assert [r["key"] for r in Receiver.received] == ["k-stale"]
