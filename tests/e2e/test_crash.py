"""`ordo serve` killed with SIGKILL while a client keeps submitting orders, then restarted: every
order the client saw acknowledged exists exactly once, the client's retries of unanswered ones
create no duplicates, and no reservation is orphaned. Both databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import text

from ordo.inventory.queries import verify
from tests.factories import order_payload, seed, user_token

ORDO = Path(sys.executable).parent / "ordo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, port: int, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ORDO_DATABASE_URL": url, "ORDO_PORT": str(port), "ORDO_HOST": "127.0.0.1"}
    proc = subprocess.Popen([str(ORDO), "serve", "--no-print-admin-token"], env=env, cwd=home,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not come up")


def test_server_killed_mid_stream_loses_and_duplicates_nothing(ordo, database, tmp_path):
    seed(ordo)
    headers = {"Authorization": f"Bearer {user_token(ordo, 'feeder', ['admin'])}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/orders"
    acknowledged: dict[str, str] = {}
    unanswered: list[str] = []
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            external_id = f"CRASH-{i}"
            try:
                r = httpx.post(base, json=order_payload(external_id=external_id), headers=headers, timeout=5)
                assert r.status_code == 201, r.text
                acknowledged[external_id] = r.json()["number"]
            except httpx.TransportError:
                unanswered.append(external_id)
                return
            i += 1

    server = start(database.url, port, tmp_path)
    try:
        feeder = threading.Thread(target=feed)
        feeder.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 10:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        feeder.join(30)
        stop.set()
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == -signal.SIGKILL

    server = start(database.url, port, tmp_path)
    try:
        for external_id in unanswered:  # the client retries what it never heard back about
            r = httpx.post(base, json=order_payload(external_id=external_id), headers=headers, timeout=5)
            assert r.status_code in (200, 201), r.text  # 200: it had been stored before the kill
            acknowledged[external_id] = r.json()["number"]
    finally:
        server.terminate()
        server.wait(10)

    with database.engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT external_id, number FROM orders")).all())
        per_id = conn.execute(text("SELECT count(*) FROM orders GROUP BY shop_id, external_id HAVING count(*) > 1"))
        assert per_id.all() == []
        orphans = conn.execute(text(
            "SELECT count(*) FROM reservations r LEFT JOIN shipments s ON s.id = r.shipment_id WHERE s.id IS NULL"
        )).scalar()
    assert stored == acknowledged  # nothing lost, nothing extra
    assert orphans == 0
    with ordo.reading() as uow:
        assert verify(uow.session) == []
