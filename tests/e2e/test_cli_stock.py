"""`ordo stock adjust | bin | receive --kind return` end to end: what the ledger records, and a
refused command writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ordo.entrypoints.cli import common, main
from ordo.inventory.queries import verify
from ordo.inventory.tables import StockMovement
from tests.factories import seed


@pytest.fixture
def run(ordo, monkeypatch):
    seed(ordo)
    monkeypatch.setattr(common, "ordo", lambda: ordo)
    runner = CliRunner()
    return lambda *args: runner.invoke(main.app, list(args), env={"COLUMNS": "200", "ORDO_LOCALE": "en"})


def ledger(ordo, sku: str = "MUG-002") -> list[tuple[str, int, str | None, str | None]]:
    from ordo.catalog.tables import Sku

    with ordo.reading() as uow:
        return [tuple(r) for r in uow.session.execute(
            select(StockMovement.kind, StockMovement.delta_on_hand, StockMovement.reason, StockMovement.reference)
            .join(Sku, Sku.id == StockMovement.sku_id).where(Sku.code == sku).order_by(StockMovement.id))]


def test_adjust_bin_and_return_receipt_from_the_command_line(run, ordo):
    adjusted = run("stock", "adjust", "--reason", "broken in the aisle", "--", "WH-SH", "MUG-002", "-3")
    assert adjusted.exit_code == 0, adjusted.output
    assert "97" in adjusted.output
    returned = run("stock", "receive", "WH-SH", "MUG-002", "2", "--kind", "return", "--reference", "20260315001")
    assert returned.exit_code == 0, returned.output
    placed = run("stock", "bin", "WH-SH", "MUG-002", "a03-015-l")
    assert (placed.exit_code, "A03-015-L" in placed.output) == (0, True), placed.output
    assert ledger(ordo) == [("receipt", 100, None, None), ("adjustment", -3, "broken in the aisle", None),
                            ("return", 2, None, "20260315001")]
    with ordo.reading() as uow:
        assert verify(uow.session) == []


def test_refused_stock_commands_exit_with_their_codes_and_write_nothing(run, ordo):
    with ordo.reading() as uow:
        before = uow.session.scalar(select(func.count()).select_from(StockMovement))
    bad_kind = run("stock", "receive", "WH-SH", "MUG-002", "2", "--kind", "gift")
    below = run("stock", "adjust", "--reason", "count", "--", "WH-SH", "MUG-002", "-101")
    bad_bin = run("stock", "bin", "WH-SH", "MUG-002", "A 3/12")
    assert (bad_kind.exit_code, below.exit_code, bad_bin.exit_code) == (2, 1, 2)
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(StockMovement)) == before
