"""`ordo inventory verify`: stock equals the ledger and the open reservations, after real traffic,
and a row changed behind the ledger's back is named."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ordo.auth.model import Actor
from ordo.entrypoints.cli import inventory as inventory_cli
from ordo.entrypoints.cli.main import app as cli
from ordo.inventory.queries import Mismatch, verify
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, seed


@pytest.fixture
def traffic(ordo):
    seed(ordo)
    numbers = [
        intake(
            ordo, submission=OrderSubmission.model_validate(order_payload(external_id=f"V-{i}")), actor=Actor.system()
        )[0]
        for i in range(4)
    ]
    steps = {
        numbers[0]: [(OrderAction.CANCEL, ActionIn(reason="changed mind"))],
        numbers[1]: [
            (OrderAction.PICK, ActionIn()),
            (OrderAction.FINISH_PICK, ActionIn()),
            (OrderAction.CHECK, ActionIn()),
            (OrderAction.PACK, ActionIn()),
            (OrderAction.HAND_OVER, ActionIn()),
            (OrderAction.SHIP, ActionIn(carrier="SF", tracking_number="SF1")),
        ],
    }
    for number, actions in steps.items():
        for action, body in actions:
            with ordo.transaction() as uow:
                perform(uow, number=number, action=action, body=body, actor=Actor.system())
    return ordo


def test_stock_agrees_with_the_ledger_after_intake_cancel_and_shipping(traffic):
    with traffic.reading() as uow:
        assert verify(uow.session) == []


def test_a_stock_row_changed_behind_the_ledger_is_named(traffic, database, monkeypatch):
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE stock SET on_hand = on_hand + 3 WHERE sku_id = (SELECT id FROM skus WHERE code = 'TEA-001') "
                "AND warehouse_id = (SELECT id FROM warehouses WHERE code = 'WH-SH')"
            )
        )
    with traffic.reading() as uow:
        assert verify(uow.session) == [Mismatch("WH-SH", "TEA-001", "on_hand", 101, 98)]
    monkeypatch.setattr(inventory_cli, "ordo", lambda: traffic)
    result = CliRunner().invoke(cli, ["inventory", "verify"])
    assert result.exit_code == 1, result.exception
    assert [line.split() for line in result.stdout.splitlines() if "TEA-001" in line] == [
        ["│", "WH-SH", "│", "TEA-001", "│", "on_hand", "│", "101", "│", "98", "│"]
    ]
