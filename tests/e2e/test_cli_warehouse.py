"""`ordo warehouse layout`, `ordo pick …` and `ordo scan` end to end on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from ordo.auth.handlers import add_user
from ordo.auth.model import Actor
from ordo.entrypoints.cli import common, main, warehouse
from ordo.fulfillment.tables import ShipmentScan
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order
from tests.e2e.test_cli import table_rows
from tests.factories import order_payload, seed

Run = Callable[..., Result]
TEA = "6900000000000"


@pytest.fixture
def run(ordo, monkeypatch) -> Run:
    seed(ordo)
    with ordo.transaction() as uow:
        add_user(uow, username="li", roles=["warehouse"])
        add_user(uow, username="zhao", roles=["warehouse"])
    for module in (common, main, warehouse):
        monkeypatch.setattr(module, "ordo", lambda: ordo)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main.app, list(args), env={"COLUMNS": "200", "ORDO_LOCALE": "en"})

    return invoke


def test_layout_set_and_show_and_a_bad_layout_exits_2(run):
    shown = run("warehouse", "layout", "show", "WH-SH")
    assert shown.exit_code == 0, shown.output
    assert ["aisles", "10"] in table_rows(shown.stdout)
    assert "(policy default)" in shown.stdout
    done = run("warehouse", "layout", "set", "WH-SH", "--aisles", "4", "--aisle-length", "20", "--aisle-spacing", "3",
               "--slot-length", "1", "--middle", "10")
    assert done.exit_code == 0, done.output
    assert ["middle_cross_aisles_m", "[10.0]"] in table_rows(done.stdout)
    bad = run("warehouse", "layout", "set", "WH-SH", "--aisles", "0", "--aisle-length", "20", "--aisle-spacing", "3",
              "--slot-length", "1")
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[1] == "  aisles must be between 1 and 99, got 0."
    assert ["aisles", "4"] in table_rows(run("warehouse", "layout", "show", "WH-SH").stdout)


def test_release_claim_and_scan_with_refusals_exiting_1_and_kept(run, ordo):
    assert run("stock", "bin", "WH-SH", "TEA-001", "A02-007-R").exit_code == 0
    outside = run("stock", "bin", "WH-SH", "TEA-001", "A11-001-L")
    assert (outside.exit_code, outside.stderr.splitlines()[1]) == (
        2, '  bin: bin "A11-001-L" is outside the layout of warehouse WH-SH (10 aisles, 30 slots per side).')
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=Actor.system())
    released = run("pick", "release", "WH-SH", "--as", "li")
    assert released.exit_code == 0, released.output
    assert table_rows(released.stdout)[1] == ["1", "A02-007-R", "TEA-001", "Tea-001", "2", f"{number}-1"]
    assert "PL000001 · WH-SH · open · 19 m (optimal)" in released.stdout
    assert run("pick", "claim", "PL000001", "--as", "li").exit_code == 0
    taken = run("pick", "claim", "PL000001", "--as", "zhao")
    assert (taken.exit_code, taken.stderr) == (1, "error: Pick list PL000001 is already claimed (picker: li).\n")
    too_many = run("scan", f"{number}-1", TEA, "3", "--as", "li")
    assert (too_many.exit_code, too_many.stderr) == (
        1, f'error: Shipment {number}-1 needs 2 of "TEA-001" at the pick stage; 0 already scanned, 3 more would be '
           "too many; nothing was counted.\n")
    ok = run("scan", f"{number}-1", TEA, "2", "--as", "li")
    assert (ok.exit_code, ok.stdout) == (0, f"{number}-1: pick TEA-001 × 2 accepted\n")
    early = run("scan", f"{number}-1", TEA, "--stage", "check", "--as", "zhao")
    assert early.exit_code == 1
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ShipmentScan)) == 2  # the refusal and the scan
        assert uow.session.scalar(select(Order.status).where(Order.number == number)) == "in_fulfillment"
    listed = run("pick", "list", "--warehouse", "WH-SH")
    assert table_rows(listed.stdout)[1][:4] == ["PL000001", "WH-SH", "claimed", "li"]
