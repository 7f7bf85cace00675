"""`ordo serve` as a real process: it prints the URL and an admin token that works; and the options
it hands to uvicorn (uvicorn.run replaced by a fake that records them)."""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ordo.adapters.db.engine import make_engine
from ordo.adapters.db.migrate import upgrade
from ordo.bootstrap import Ordo
from ordo.entrypoints.api.app import serve_app
from ordo.entrypoints.cli import main
from ordo.settings import Settings
from tests.factories import order_payload, seed

ORDO = Path(sys.executable).parent / "ordo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(Ordo(Settings(database_url=url), engine=engine))
    engine.dispose()
    port = free_port()
    env = {**os.environ, "ORDO_DATABASE_URL": url, "ORDO_PORT": str(port), "ORDO_HOST": "127.0.0.1"}
    proc = subprocess.Popen([str(ORDO), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=tmp_path)
    lines: list[str] = []
    token = None
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline and token is None:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"admin token \(24 h\): (\S+)", line):
            token = m.group(1)
    assert token, "".join(lines)
    base = f"http://127.0.0.1:{port}"
    assert f"Ordo at {base}" in "".join(lines)
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield base, token, url, tmp_path
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_answers_health_docs_and_orders_with_the_printed_token(server):
    base, token, _, _ = server
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert httpx.get(f"{base}/api/v1/orders").status_code == 401
    created = httpx.post(f"{base}/api/v1/orders", json=order_payload(), headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "allocated"
    assert re.fullmatch(r"\d{8}001", created.json()["number"])


def test_serve_on_the_embedded_database_delivers_the_outbox_itself(server):
    """No `ordo worker` beside it: the order's SMS notice is delivered by the server process."""
    base, token, url, home = server
    created = httpx.post(f"{base}/api/v1/orders", json=order_payload(), headers={"Authorization": f"Bearer {token}"})
    number = created.json()["number"]
    engine = make_engine(url)
    deadline = time.monotonic() + 30
    try:
        while True:
            with engine.connect() as conn:
                sent = conn.execute(text(
                    "SELECT status FROM outbox WHERE key = :k"), {"k": f"notice:confirmed:{number}:sms"}
                ).scalar()
            if sent == "sent":
                break
            assert time.monotonic() < deadline, sent
            time.sleep(0.2)
    finally:
        engine.dispose()
    assert number in (home / "var" / "sms.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(("env", "args", "expected"), [
    ({}, [], 30),  # uvicorn's own 5 s killed workers still starting on a loaded machine
    ({"ORDO_TIMEOUT_WORKER_HEALTHCHECK": "45"}, [], 45),
    ({"ORDO_TIMEOUT_WORKER_HEALTHCHECK": "45"}, ["--timeout-worker-healthcheck", "90"], 90),
], ids=["settings-default", "environment", "option"])
def test_serve_hands_the_worker_health_check_timeout_to_uvicorn(monkeypatch, env, args, expected):
    for name in ("ORDO_HOST", "ORDO_PORT", "ORDO_WORKERS", "ORDO_TIMEOUT_WORKER_HEALTHCHECK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app_ = Ordo(Settings(database_url="sqlite://"))
    monkeypatch.setattr(main, "ordo", lambda: app_)
    calls: list[dict] = []
    monkeypatch.setattr(main.uvicorn, "run", lambda target, **options: calls.append({"target": target, **options}))

    result = CliRunner().invoke(main.app, ["serve", "--workers", "4", "--no-print-admin-token", "--no-with-worker",
                                           *args])

    assert result.exit_code == 0, result.output
    assert calls == [{"target": "ordo.entrypoints.api.app:serve_app", "factory": True, "host": "127.0.0.1",
                      "port": 8000, "workers": 4, "timeout_worker_healthcheck": expected, "log_level": "info"}]


def test_serve_refuses_a_health_check_timeout_below_one_second(monkeypatch):
    monkeypatch.setattr(main, "ordo", lambda: Ordo(Settings(database_url="sqlite://")))
    calls: list[dict] = []
    monkeypatch.setattr(main.uvicorn, "run", lambda target, **options: calls.append(options))

    result = CliRunner().invoke(main.app, ["serve", "--timeout-worker-healthcheck", "0", "--no-print-admin-token"])

    assert (result.exit_code, calls) == (2, [])
    assert "--timeout-worker-healthcheck" in result.output


def test_a_server_workers_app_puts_what_start_up_made_out_of_the_collectors_reach(monkeypatch, tmp_path):
    monkeypatch.setenv("ORDO_DATABASE_URL", f"sqlite:///{tmp_path / 'ordo.db'}")
    gc.unfreeze()
    try:
        app_ = serve_app()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, routes and schemas, not a handful of objects
        assert [r.path for r in app_.routes if getattr(r, "path", "") == "/healthz"] == ["/healthz"]
    finally:
        gc.unfreeze()
