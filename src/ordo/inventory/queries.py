"""Read side for stock: the proof that the stock figures are the sum of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordo.catalog.tables import Sku
from ordo.inventory.model import ReservationStatus
from ordo.inventory.tables import Reservation, Stock, StockMovement, Warehouse


@dataclass(frozen=True)
class LedgerRow:
    at: datetime
    warehouse: str
    sku: str
    kind: str
    on_hand: int
    reserved: int
    reference: str | None
    reason: str | None
    actor: str


def ledger(session: Session, *, sku: str, warehouse: str | None = None, limit: int = 200) -> list[LedgerRow]:
    """The newest movements of a SKU (in one warehouse or all), newest first."""
    statement = (
        select(StockMovement, Warehouse.code, Sku.code)
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .join(Sku, Sku.id == StockMovement.sku_id)
        .where(Sku.code == sku)
    )
    if warehouse:
        statement = statement.where(Warehouse.code == warehouse)
    rows = session.execute(statement.order_by(StockMovement.id.desc()).limit(limit)).all()
    return [
        LedgerRow(m.created_at, w, s, m.kind, m.delta_on_hand, m.delta_reserved, m.reference, m.reason, m.actor)
        for m, w, s in rows
    ]


@dataclass(frozen=True)
class Mismatch:
    warehouse: str
    sku: str
    figure: str  # on_hand | reserved | open_reservations
    stock: int
    expected: int


def verify(session: Session) -> list[Mismatch]:
    """Every stock row against its ledger (on hand and reserved are sums of the movements) and
    against the open reservations; also ledger rows for a (warehouse, SKU) without a stock row."""
    ledger = {
        (w, s): (on_hand, reserved)
        for w, s, on_hand, reserved in session.execute(
            select(
                StockMovement.warehouse_id,
                StockMovement.sku_id,
                func.sum(StockMovement.delta_on_hand),
                func.sum(StockMovement.delta_reserved),
            ).group_by(StockMovement.warehouse_id, StockMovement.sku_id)
        )
    }
    reserved_open = dict(
        ((w, s), total)
        for w, s, total in session.execute(
            select(Reservation.warehouse_id, Reservation.sku_id, func.sum(Reservation.quantity))
            .where(Reservation.status == ReservationStatus.OPEN)
            .group_by(Reservation.warehouse_id, Reservation.sku_id)
        )
    )
    names = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    skus = dict(session.execute(select(Sku.id, Sku.code)).all())
    found: list[Mismatch] = []
    stock_rows = session.execute(select(Stock.warehouse_id, Stock.sku_id, Stock.on_hand, Stock.reserved)).all()
    seen = set()
    for w, s, on_hand, reserved in stock_rows:
        seen.add((w, s))
        ledger_on_hand, ledger_reserved = ledger.get((w, s), (0, 0))
        for figure, value, expected in (
            ("on_hand", on_hand, int(ledger_on_hand)),
            ("reserved", reserved, int(ledger_reserved)),
            ("open_reservations", reserved, int(reserved_open.get((w, s), 0))),
        ):
            if value != expected:
                found.append(Mismatch(names[w], skus[s], figure, value, expected))
    for (w, s), (ledger_on_hand, ledger_reserved) in ledger.items():
        if (w, s) not in seen and (ledger_on_hand or ledger_reserved):
            found.append(Mismatch(names[w], skus[s], "on_hand", 0, int(ledger_on_hand)))
    return sorted(found, key=lambda m: (m.warehouse, m.sku, m.figure))
