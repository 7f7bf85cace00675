"""`ordo inventory verify`: stock equals the ledger and the open reservations, after real traffic,
and a row changed behind the ledger's back is named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from ordo.auth.model import Actor
from ordo.entrypoints.api.app import create_app
from ordo.entrypoints.cli import common
from ordo.entrypoints.cli import inventory as inventory_cli
from ordo.entrypoints.cli.main import app as cli
from ordo.inventory.queries import Mismatch, verify
from ordo.inventory.queries import ledger as ledger_rows
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from tests.factories import order_payload, prepare_packing, scan_before, seed, user_token


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
            (OrderAction.SHIP, ActionIn(tracking_number="YT1")),
        ],
    }
    prepare_packing(ordo, numbers[1])
    for number, actions in steps.items():
        for action, body in actions:
            scan_before(ordo, number, action)
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


def test_adjustments_are_ledger_rows_and_never_go_below_reserved(traffic):
    token = user_token(traffic, "keeper", ["warehouse"])
    with TestClient(create_app(traffic)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        # WH-SH TEA-001 after the traffic: 98 on hand, 4 reserved (orders V-2 and V-3)
        down = client.post(
            "/api/v1/stock/adjustments",
            json={"warehouse": "WH-SH", "sku": "TEA-001", "delta": -90, "reason": "stock count"},
        )
        assert (down.status_code, down.json()) == (
            201,
            {"warehouse": "WH-SH", "sku": "TEA-001", "on_hand": 8, "reserved": 4, "available": 4, "bin": None},
        )
        refused = client.post(
            "/api/v1/stock/adjustments", json={"warehouse": "WH-SH", "sku": "TEA-001", "delta": -5, "reason": "damage"}
        )
        assert (refused.status_code, refused.json()["detail"]) == (
            409,
            ('Adjusting "TEA-001" in WH-SH by -5 would leave less on hand (8) than is reserved for orders (4).'),
        )
        bad = client.post("/api/v1/stock/adjustments", json={"warehouse": "WH-XX", "sku": "TEA-001", "delta": 0})
        assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [
            ("warehouse", "warehouse_unknown"),
            ("delta", "adjustment_out_of_range"),
            ("reason", "required"),
        ]
    with traffic.reading() as uow:
        assert verify(uow.session) == []


def test_transfers_move_available_units_with_two_ledger_rows(traffic):
    token = user_token(traffic, "mover", ["warehouse"])
    with TestClient(create_app(traffic)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        moved = client.post(
            "/api/v1/stock/transfers",
            json={
                "sku": "TEA-001",
                "from_warehouse": "WH-SH",
                "to_warehouse": "WH-BJ",
                "quantity": 90,
                "reason": "rebalance",
            },
        )
        assert (moved.status_code, moved.json()) == (
            201,
            {
                "source": {"warehouse": "WH-SH", "sku": "TEA-001", "on_hand": 8, "reserved": 4, "available": 4,
                           "bin": None},
                "destination": {"warehouse": "WH-BJ", "sku": "TEA-001", "on_hand": 90, "reserved": 0, "available": 90,
                                "bin": None},
            },
        )
        short = client.post(
            "/api/v1/stock/transfers",
            json={"sku": "TEA-001", "from_warehouse": "WH-SH", "to_warehouse": "WH-BJ", "quantity": 5},
        )
        assert (short.status_code, short.json()["detail"]) == (
            409,
            'Warehouse WH-SH has 4 of "TEA-001" available to move, 5 requested.',
        )
        bad = client.post(
            "/api/v1/stock/transfers",
            json={"sku": "TEA-001", "from_warehouse": "WH-XX", "to_warehouse": "WH-SH", "quantity": 0},
        )
        assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [
            ("from_warehouse", "warehouse_unknown"),
            ("quantity", "out_of_range"),
        ]
        same = client.post(
            "/api/v1/stock/transfers",
            json={"sku": "TEA-001", "from_warehouse": "WH-SH", "to_warehouse": "WH-SH", "quantity": 1},
        )
        assert [(e["field"], e["code"]) for e in same.json()["errors"]] == [("to_warehouse", "transfer_same_warehouse")]
    with traffic.reading() as uow:
        assert verify(uow.session) == []


def test_cli_transfer_and_ledger(traffic, monkeypatch):
    monkeypatch.setattr(common, "ordo", lambda: traffic)
    monkeypatch.setattr(inventory_cli, "ordo", lambda: traffic)
    moved = CliRunner().invoke(cli, ["stock", "transfer", "TEA-001", "WH-SH", "WH-BJ", "3", "--reason", "rebalance"])
    assert moved.exit_code == 0, moved.stdout
    with traffic.reading() as uow:
        rows = ledger_rows(uow.session, sku="TEA-001", warehouse="WH-BJ")
    assert [(r.kind, r.on_hand, r.reserved, r.reason, r.actor) for r in rows] == [
        ("transfer_in", 3, 0, "rebalance", "system")
    ]
    shown = CliRunner().invoke(cli, ["inventory", "ledger", "TEA-001", "--warehouse", "WH-SH", "--limit", "2"])
    assert shown.exit_code == 0
    assert [line.split("│")[3].strip() for line in shown.stdout.splitlines() if "WH-SH" in line] == [
        "transfer_out", "shipment"
    ]
