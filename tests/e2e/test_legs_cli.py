"""`ordo legs show|record` against both databases: exit 2 for bad input, 1 for a refusal."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common, legs, main
from tests.e2e.test_crossborder import export_warehouse, handed_over, intl_order
from tests.factories import seed, user_token


@pytest.fixture
def shipment(ordo) -> str:
    seed(ordo)
    export_warehouse(ordo, origin=None)
    with TestClient(create_app(ordo)) as client:
        client.headers["Authorization"] = f"Bearer {user_token(ordo, 'root', ['admin'])}"
        number = client.post("/api/v1/orders", json=intl_order()).json()["number"]
        return handed_over(client, ordo, number)


@pytest.fixture
def run(ordo, monkeypatch):
    for module in (common, main, legs):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    runner = CliRunner()
    return lambda *args: runner.invoke(main.app, list(args), env={"COLUMNS": "200", "ORDO_LOCALE": "en"})


def test_legs_are_recorded_and_shown_from_the_command_line(run, shipment, database):
    booked = run("legs", "record", shipment, "export_booking", "book", "--reference", "BK-9", "--carrier", "K+N",
                 "--requested-date", "2026-03-16")
    assert (booked.exit_code, booked.stdout.strip()) == (0, f"{shipment}: export_booking book → in_transit")

    before = database.row_counts()
    missing = run("legs", "record", shipment, "export_declaration", "declare")
    assert missing.exit_code == 2
    assert "lines[0].origin_country is required." in missing.stderr
    assert "lines[1].origin_country is required." in missing.stderr
    out_of_order = run("legs", "record", shipment, "arrival", "arrive")
    assert out_of_order.exit_code == 1
    assert "the next leg is export_declaration" in out_of_order.stderr
    assert database.row_counts() == before

    declared = run("legs", "record", shipment, "export_declaration", "declare", "--line", "0:origin_country=CN",
                   "--line", "1:origin_country=VN")
    assert (declared.exit_code, declared.stdout.strip()) == (
        0, f"{shipment}: export_declaration declare → export_declared")
    bad_line = run("legs", "record", shipment, "international_transport", "depart", "--line", "nonsense")
    assert bad_line.exit_code == 2

    shown = run("legs", "show", shipment)
    assert shown.exit_code == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if line.startswith("│")]
    assert [r.strip("│").split("│")[0].strip() for r in rows] == [
        "export_booking", "export_declaration", "international_transport", "arrival", "customs_clearance",
        "last_mile"]
    assert [r.strip("│").split("│")[1].strip() for r in rows] == [
        "completed", "completed", "pending", "pending", "pending", "pending"]
    assert rows[2].strip("│").split("│")[-1].strip() == "depart"
