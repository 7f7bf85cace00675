"""Read side for stock: the proof that the stock figures are the sum of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordo.catalog.tables import Sku
from ordo.inventory.model import ReservationStatus
from ordo.inventory.schemas import Availability, ReorderAlertRead
from ordo.inventory.tables import ReorderAlert, Reservation, Stock, StockMovement, Warehouse
from ordo.order.tables import Order, OrderLine
from ordo.policy import InventoryPolicy


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


def availability(session: Session, policy: InventoryPolicy, *, channel: str, skus: list[str] | None = None,
                 limit: int = 200) -> list[Availability]:
    """Available to promise per SKU for one sales channel: on hand − reserved − what backordered
    orders still wait for − the channel's safety stock, never below zero. Feeding marketplaces this
    figure cannot lead to oversell."""
    safety = policy.safety_stock.get(channel, policy.default_safety_stock)
    statement = (
        select(Sku.id, Sku.code, func.coalesce(func.sum(Stock.on_hand), 0), func.coalesce(func.sum(Stock.reserved), 0))
        .outerjoin(Stock, Stock.sku_id == Sku.id)
        .where(Sku.active.is_(True))
        .group_by(Sku.id, Sku.code)
        .order_by(Sku.code)
        .limit(limit)
    )
    if skus:
        statement = statement.where(Sku.code.in_(skus))
    rows = session.execute(statement).all()
    waiting = dict(session.execute(
        select(OrderLine.sku_id, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == "backordered", OrderLine.sku_id.in_([r[0] for r in rows]))
        .group_by(OrderLine.sku_id)
    ).all()) if rows else {}
    return [
        Availability(sku=code, channel=channel, on_hand=int(on_hand), reserved=int(reserved),
                     backordered=int(waiting.get(sku_id, 0)), safety_stock=safety,
                     available_to_promise=max(0, int(on_hand) - int(reserved) - int(waiting.get(sku_id, 0)) - safety))
        for sku_id, code, on_hand, reserved in rows
    ]


def reorder_alerts(session: Session, *, open_only: bool = True) -> list[ReorderAlertRead]:
    statement = (
        select(ReorderAlert, Sku.code, Warehouse.code)
        .join(Sku, Sku.id == ReorderAlert.sku_id)
        .outerjoin(Warehouse, Warehouse.id == ReorderAlert.warehouse_id)
        .order_by(ReorderAlert.id)
    )
    if open_only:
        statement = statement.where(ReorderAlert.cleared_at.is_(None))
    return [
        ReorderAlertRead(sku=sku, warehouse=warehouse, available=a.available, reorder_point=a.reorder_point,
                         raised_at=a.raised_at, cleared_at=a.cleared_at)
        for a, sku, warehouse in session.execute(statement)
    ]
