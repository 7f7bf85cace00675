"""SLA over HTTP and the CLI: the overdue list, clocks in the order detail, `ordo sla scan`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common, main
from ordo.entrypoints.cli import sla as sla_cli
from tests.factories import order_payload, seed, user_token


@pytest.fixture
def client(ordo):
    seed(ordo)
    with TestClient(create_app(ordo)) as c:
        c.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        yield c


def test_overdue_list_detail_clocks_scan_and_on_time(client, ordo, clock, monkeypatch):
    number = client.post("/api/v1/orders", json=order_payload()).json()["number"]
    detail = client.get(f"/api/v1/orders/{number}").json()
    assert [(c["step"], c["status"], c["deadline"]) for c in detail["clocks"]] == [
        ("auto_review", "stopped", "2026-03-15T02:05:00Z"),
        ("manual_review", "stopped", "2026-03-15T02:30:00Z"),
        ("first_review", "stopped", "2026-03-15T04:00:00Z"),
        ("ship_normal", "open", "2026-03-16T02:00:00Z"),
    ]
    assert client.get("/api/v1/sla/overdue").json() == []
    clock.advance(timedelta(hours=25))
    for module in (common, sla_cli):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    result = CliRunner().invoke(main.app, ["sla", "scan"], env={"ORDO_LOCALE": "en"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"breached": 1, "escalated": 0, "scheduled": 0, "calendar_alerts": []}
    [late] = client.get("/api/v1/sla/overdue").json()
    assert (late["order"], late["step"], late["status"], late["overdue_seconds"]) == (
        number, "ship_normal", "breached", 3600
    )
    assert client.get("/api/v1/sla/on-time").json() == [
        {"step": step, "closed": 1, "on_time": 1, "rate": 1.0}
        for step in ("auto_review", "first_review", "manual_review")
    ]
    assert client.get("/api/v1/sla/overdue", headers={"Authorization": ""}).status_code == 401
