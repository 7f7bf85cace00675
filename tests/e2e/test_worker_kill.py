"""`ordo worker` killed with SIGKILL in the middle of a delivery, then started again: every outbox
message reaches the receiver (the one in flight possibly twice), none is lost. Both databases."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ordo.adapters.messaging.webhook import IDEMPOTENCY_KEY
from ordo.notify.outbox import enqueue
from ordo.notify.tables import OutboxMessage

ORDO = Path(sys.executable).parent / "ordo"
SECRET = "kill-test-secret"


class SlowFirst(http.server.BaseHTTPRequestHandler):
    """Records every delivery; the very first one hangs until the test lets it go."""

    keys: list[str] = []
    first_arrived = threading.Event()
    release = threading.Event()
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with SlowFirst.lock:
            first = not SlowFirst.keys
            SlowFirst.keys.append(self.headers[IDEMPOTENCY_KEY])
        if first:
            SlowFirst.first_arrived.set()
            SlowFirst.release.wait(60)  # the worker is killed while we wait
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    SlowFirst.keys, SlowFirst.first_arrived, SlowFirst.release = [], threading.Event(), threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowFirst)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        SlowFirst.release.set()
        server.shutdown()
        server.server_close()


def start_worker(database_url: str, policy_file: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ORDO_DATABASE_URL": database_url, "ORDO_POLICY_FILE": str(policy_file),
           "ORDO_WEBHOOK_SECRET": SECRET}
    return subprocess.Popen([str(ORDO), "worker", "--interval", "0.2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def statuses(ordo) -> list[str]:
    with ordo.reading() as uow:
        # Only ours: the worker's own SLA round may queue staff alerts (the real clock runs in it).
        return list(uow.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.key.like("kill-test:%")).order_by(OutboxMessage.id)
        ))


def test_worker_killed_mid_delivery_loses_nothing(ordo, database, receiver, clock, tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("[notify]\nlease = 2\nbackoff_base = 1\n")
    keys = [f"kill-test:{i}" for i in range(5)]
    with ordo.transaction() as uow:
        for key in keys:
            enqueue(uow.session, topic="order.shipped", key=key, audience="webhook", at=clock.now(),
                    payload={"channel": "webhook", "to": receiver, "subject": "s", "body": "b", "order": key})

    first = start_worker(database.url, policy_file)
    try:
        assert SlowFirst.first_arrived.wait(60), "the worker never delivered"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    assert "sending" in statuses(ordo)  # claimed and in flight when the worker died

    second = start_worker(database.url, policy_file)
    try:
        deadline = time.monotonic() + 60
        while statuses(ordo) != ["sent"] * 5:
            assert time.monotonic() < deadline, (statuses(ordo), SlowFirst.keys)
            time.sleep(0.2)
    finally:
        second.terminate()
        second.wait(10)
    assert sorted(set(SlowFirst.keys)) == keys  # every message arrived
    assert len(SlowFirst.keys) == 6  # the one in flight arrived again after the restart: at least once
    assert SlowFirst.keys.count(SlowFirst.keys[0]) == 2
