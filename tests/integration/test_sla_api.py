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


@pytest.fixture
def fresh_calendar():
    from ordo.sla import calendar as calendars

    calendars.forget()
    yield
    calendars.forget()


def test_admins_enter_next_year_s_days_through_api_and_cli_and_the_calendar_uses_them(
        client, ordo, monkeypatch, fresh_calendar):
    """The override table (2027 is unknown to the package) is filled through PUT and `ordo calendar
    set`, listed per year, and wins over the package and the policy file."""
    from datetime import datetime

    from ordo.entrypoints.cli import calendar as calendar_cli
    from ordo.sla.tables import CalendarOverride

    bad = client.put("/api/v1/calendar/overrides", json={"days": [{"day": "2027-01-01", "kind": "party"}]})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "days[0].kind")
    with ordo.reading() as uow:
        assert uow.session.query(CalendarOverride).count() == 0  # nothing written for a rejected request
    r = client.put("/api/v1/calendar/overrides", json={"days": [
        {"day": "2027-01-01", "kind": "holiday"}, {"day": "2027-01-02", "kind": "holiday"}]})
    assert r.status_code == 200, r.text
    assert r.json() == [{"day": "2027-01-01", "kind": "holiday"}, {"day": "2027-01-02", "kind": "holiday"}]
    for module in (common, calendar_cli):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    result = CliRunner().invoke(main.app, ["calendar", "set", "2027-01-03", "holiday"], env={"ORDO_LOCALE": "en"})
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main.app, ["calendar", "set", "2027-13-01", "holiday"]).exit_code == 2
    result = CliRunner().invoke(main.app, ["calendar", "set", "2027-01-04", "workday"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/calendar/overrides", params={"year": 2027}).json() == [
        {"day": "2027-01-01", "kind": "holiday"}, {"day": "2027-01-02", "kind": "holiday"},
        {"day": "2027-01-03", "kind": "holiday"}, {"day": "2027-01-04", "kind": "workday"}]
    # The table wins over the package for a day the package knows too.
    client.put("/api/v1/calendar/overrides", json={"days": [{"day": "2026-12-31", "kind": "holiday"}]})
    from ordo.sla import calendar as calendars
    from ordo.sla.handlers import rule_index

    with ordo.reading() as uow:
        cal = calendars.in_force(uow.session, ordo.policy, rule_index(ordo.policy).calendar)
    assert not cal.is_workday(datetime(2026, 12, 31).date()) and not cal.is_workday(datetime(2027, 1, 1).date())
    assert cal.is_workday(datetime(2027, 1, 4).date())
    assert client.get("/api/v1/calendar/overrides", headers={"Authorization": ""}).status_code == 401
