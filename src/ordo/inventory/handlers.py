"""Stock commands. Reservation is a conditional update (``on_hand - reserved >= q``) checked by
row count, in the caller's transaction, SKUs in ascending id order so that two orders never wait
on each other's rows in opposite order."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Update,
    bindparam,
    case,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.adapters.db.reference import cached
from ordo.catalog.queries import sku_views
from ordo.inventory.model import MovementKind, ReservationStatus, WarehouseView
from ordo.inventory.tables import ReorderAlert, Reservation, Stock, StockMovement, Warehouse
from ordo.notify.outbox import enqueue
from ordo.policy import InventoryPolicy

# Anything that makes more stock available (receipts, returns, transfers in, positive adjustments,
# released reservations) runs inside ``restocking``. The order package registers the backorder
# service here (bootstrap), so inventory needs no import of orders. An observer is called BEFORE
# the stock changes, with the SKUs that will grow, and returns the step to run once the stock has
# changed: the backorder service locks the goods' stock rows first (in the global order) and
# afterwards notes the goods for their waiting orders to be served after the commit.
RestockObserver = Callable[[Any, list[int]], Callable[[], object]]
restock_observers: list[RestockObserver] = []


def on_restock(observer: RestockObserver) -> None:
    if observer not in restock_observers:
        restock_observers.append(observer)


@contextmanager
def restocking(uow: Any, sku_ids: Iterable[int]) -> Iterator[None]:
    """Around a change that adds available stock: the observers before it, their steps after."""
    ids = sorted(set(sku_ids))
    after = [observer(uow, ids) for observer in restock_observers] if ids else []
    yield
    for step in after:
        step()


def warehouse_views(session: Session) -> tuple[WarehouseView, ...]:
    """The active warehouses (from the process's reference copies where it has them)."""
    def load(s: Session) -> tuple[WarehouseView, ...]:
        return tuple(
            WarehouseView(
                id=w.id,
                code=w.code,
                kind=w.kind,
                country=w.country,
                serves=frozenset(w.serves or ()),
                capabilities=frozenset(w.capabilities or ()),
                priority=w.priority,
                region=w.region or "",
            )
            for w in s.scalars(select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.id))
        )

    return cached(session, ("warehouses",), load)


def _levels(known: Mapping[tuple[int, int], int], ids: list[int], *,
            by_warehouse: bool) -> list[tuple[int, int | None, int]]:
    """(SKU id, warehouse id or None for the total, units) of these SKUs, from known figures."""
    if by_warehouse:
        return [(sku_id, warehouse_id, units) for (warehouse_id, sku_id), units in sorted(known.items())
                if sku_id in ids]
    totals: dict[int, int] = {}
    for (_, sku_id), units in known.items():
        if sku_id in ids:
            totals[sku_id] = totals.get(sku_id, 0) + units
    return [(sku_id, None, units) for sku_id, units in sorted(totals.items())]


def warehouse_kind(session: Session, warehouse_id: int) -> str | None:
    """Domestic or overseas, active or not (from the process's reference copies where it has them)."""
    return cached(session, ("warehouse_kind", warehouse_id),
                  lambda s: s.scalar(select(Warehouse.kind).where(Warehouse.id == warehouse_id)))


def lock_stock(session: Session, sku_ids: Iterable[int]) -> list[tuple[int, int]]:
    """Lock the stock rows of these SKUs in every warehouse, in the global order every reservation
    follows (warehouse id, then SKU id); returns their (warehouse id, SKU id). Nothing to do on
    SQLite, whose writers run one at a time."""
    ids = sorted(set(sku_ids))
    return _lock_in_order(session, Stock.sku_id.in_(ids)) if ids else []


def lock_reserved_stock(session: Session, shipment_ids: Iterable[int]) -> list[tuple[int, int]]:
    """Lock the stock rows the open reservations of these shipments are held on — the rows shipping
    (or intercepting) them changes — in the global order, before a command that may move several of
    them changes any."""
    ids = sorted(set(shipment_ids))
    if not ids:
        return []
    reserved = select(Reservation.warehouse_id, Reservation.sku_id).where(
        Reservation.shipment_id.in_(ids), Reservation.status == ReservationStatus.OPEN)
    return _lock_in_order(session, tuple_(Stock.warehouse_id, Stock.sku_id).in_(reserved))


def _lock_in_order(session: Session, rows: ColumnElement[bool]) -> list[tuple[int, int]]:
    if session.get_bind().dialect.name != "postgresql":
        return []
    return [(w, s) for w, s in session.execute(select(Stock.warehouse_id, Stock.sku_id).where(rows)
                                               .order_by(Stock.warehouse_id, Stock.sku_id).with_for_update())]


def available(session: Session, sku_ids: list[int], *, lock: bool = False,
              within: Collection[tuple[int, int]] | None = None) -> dict[tuple[int, int], int]:
    """Units available per (warehouse id, SKU id) of these SKUs. ``lock``: the rows are locked too,
    in the global order (warehouse id, then SKU id), so that reserving some of them afterwards never
    waits for another transaction in a cycle, whichever warehouses the plan picks (PostgreSQL; on
    SQLite the writers run one at a time anyway). ``within``: only these rows (the ones the caller
    holds already: a row created since, locked now, would be taken out of that order)."""
    lock = lock and session.get_bind().dialect.name == "postgresql"
    params: dict[str, object] = {"sku_ids": sku_ids}
    if within is not None:
        params["within"] = sorted(within)
    rows = prepared.execute(prepared.connection(session), _available_statement(lock, within is not None), params)
    return {(w, s): a for w, s, a in rows}


@cache
def _available_statement(lock: bool, within: bool) -> Select[tuple[int, int, int]]:
    statement = (select(Stock.warehouse_id, Stock.sku_id, Stock.on_hand - Stock.reserved)
                 .where(Stock.sku_id.in_(bindparam("sku_ids", expanding=True))))
    if within:
        statement = statement.where(tuple_(Stock.warehouse_id, Stock.sku_id).in_(bindparam("within", expanding=True)))
    if lock:
        statement = statement.order_by(Stock.warehouse_id, Stock.sku_id).with_for_update()
    return statement


def _movement(
    session: Session,
    *,
    warehouse_id: int,
    sku_id: int,
    kind: MovementKind,
    actor: str,
    at: datetime,
    on_hand: int = 0,
    reserved: int = 0,
    reference: str | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        StockMovement(
            warehouse_id=warehouse_id,
            sku_id=sku_id,
            kind=kind,
            delta_on_hand=on_hand,
            delta_reserved=reserved,
            reference=reference,
            reason=reason,
            actor=actor,
            created_at=at,
        )
    )


@lru_cache(maxsize=64)  # one per count of SKUs reserved in one warehouse at once; the usual few stay
def _reserve_statement(skus: int) -> Update:
    """``try_reserve``'s conditional update of ``skus`` SKUs (``sku_<i>``, ``quantity_<i>`` each, and
    ``in_warehouse``, ``sku_ids``), answering the SKUs it reserved; built once per count."""
    quantity = case(*((bindparam(f"sku_{i}", type_=Integer), bindparam(f"quantity_{i}", type_=Integer))
                      for i in range(skus)), value=Stock.sku_id)
    return (
        update(Stock)
        .where(Stock.warehouse_id == bindparam("in_warehouse"), Stock.sku_id.in_(bindparam("sku_ids", expanding=True)),
               Stock.on_hand - Stock.reserved >= quantity)
        .values(reserved=Stock.reserved + quantity)
        .returning(Stock.sku_id)
    )


def try_reserve(
    session: Session, *, warehouse_id: int, needs: Mapping[int, int], actor: str, at: datetime, reference: str
) -> bool:
    """Reserve every SKU of ``needs`` in one warehouse, or nothing: one conditional update of all
    their rows (each keeps ``on_hand - reserved >= q``), then their ledger rows in one statement. If
    a row has too little, what the others took is given back by the same transaction. The caller
    holds the rows already, taken in the global order (``available(lock=True)``): one statement
    updating several rows takes their locks in no order of its own."""
    connection = prepared.connection(session)
    skus = sorted(needs)
    params: dict[str, object] = {"in_warehouse": warehouse_id, "sku_ids": skus}
    for i, sku_id in enumerate(skus):
        params[f"sku_{i}"], params[f"quantity_{i}"] = sku_id, needs[sku_id]
    taken = set(prepared.execute(connection, _reserve_statement(len(skus)), params).scalars())
    if len(taken) != len(needs):
        for sku_id in sorted(taken):
            _add_reserved(session, warehouse_id, sku_id, -needs[sku_id])
        return False
    prepared.insert_rows(connection, StockMovement.__table__, [
        {"warehouse_id": warehouse_id, "sku_id": sku_id, "kind": MovementKind.RESERVATION, "delta_on_hand": 0,
         "delta_reserved": needs[sku_id], "reference": reference, "reason": None, "actor": actor,
         "created_at": at}
        for sku_id in sorted(needs)
    ])
    return True


def _add_reserved(session: Session, warehouse_id: int, sku_id: int, quantity: int) -> None:
    session.execute(update(Stock).where(Stock.warehouse_id == warehouse_id, Stock.sku_id == sku_id)
                    .values(reserved=Stock.reserved + quantity).execution_options(synchronize_session=False))


def _close_reservations(
    session: Session, *, shipment_id: int, to: ReservationStatus, actor: str, at: datetime, reference: str
) -> None:
    reservations = session.scalars(
        select(Reservation)
        .where(Reservation.shipment_id == shipment_id, Reservation.status == ReservationStatus.OPEN)
        .order_by(Reservation.sku_id)
    ).all()
    consume = to == ReservationStatus.CONSUMED
    for r in reservations:
        session.execute(
            update(Stock)
            .where(Stock.warehouse_id == r.warehouse_id, Stock.sku_id == r.sku_id)
            .values(
                reserved=Stock.reserved - r.quantity,
                on_hand=Stock.on_hand - r.quantity if consume else Stock.on_hand,
            )
            .execution_options(synchronize_session=False)
        )
        _movement(
            session,
            warehouse_id=r.warehouse_id,
            sku_id=r.sku_id,
            kind=MovementKind.SHIPMENT if consume else MovementKind.RELEASE,
            actor=actor,
            at=at,
            on_hand=-r.quantity if consume else 0,
            reserved=-r.quantity,
            reference=reference,
        )
        r.status = to


def release_shipment(session: Session, *, shipment_id: int, actor: str, at: datetime, reference: str) -> None:
    _close_reservations(
        session, shipment_id=shipment_id, to=ReservationStatus.RELEASED, actor=actor, at=at, reference=reference
    )


def consume_shipment(session: Session, *, shipment_id: int, actor: str, at: datetime, reference: str) -> None:
    _close_reservations(
        session, shipment_id=shipment_id, to=ReservationStatus.CONSUMED, actor=actor, at=at, reference=reference
    )


def ensure_row(session: Session, *, warehouse_id: int, sku_id: int) -> None:
    """The stock row of a first arrival. Two concurrent first receipts would both insert it: the
    insert skips on the unique key, so the loser waits for the winner's row instead of failing."""
    if session.scalar(select(Stock.id).where(Stock.warehouse_id == warehouse_id, Stock.sku_id == sku_id)) is not None:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(Stock).values(warehouse_id=warehouse_id, sku_id=sku_id, on_hand=0, reserved=0)
                    .on_conflict_do_nothing())


def receive(
    session: Session,
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int,
    actor: str,
    at: datetime,
    reason: str | None = None,
    reference: str | None = None,
    kind: MovementKind = MovementKind.RECEIPT,
) -> Stock:
    """Goods in (a receipt, or the arriving half of a transfer): on hand grows (the row is created
    on first arrival)."""
    ensure_row(session, warehouse_id=warehouse_id, sku_id=sku_id)
    stock = session.scalars(
        select(Stock).where(Stock.warehouse_id == warehouse_id, Stock.sku_id == sku_id).with_for_update()
    ).one()
    stock.on_hand += quantity
    _movement(
        session,
        warehouse_id=warehouse_id,
        sku_id=sku_id,
        kind=kind,
        actor=actor,
        at=at,
        on_hand=quantity,
        reason=reason,
        reference=reference,
    )
    session.flush()
    return stock


def adjust(
    session: Session,
    *,
    warehouse_id: int,
    sku_id: int,
    delta: int,
    actor: str,
    at: datetime,
    reason: str,
    reference: str | None = None,
) -> Stock | None:
    """Correct on hand by ``delta`` (a count, damage, a find). Refused (None) when it would leave
    less on hand than is reserved: reserved goods are promised to orders."""
    if delta > 0:
        ensure_row(session, warehouse_id=warehouse_id, sku_id=sku_id)
    changed = session.execute(
        update(Stock)
        .where(Stock.warehouse_id == warehouse_id, Stock.sku_id == sku_id, Stock.on_hand + delta >= Stock.reserved)
        .values(on_hand=Stock.on_hand + delta)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return None
    _movement(
        session,
        warehouse_id=warehouse_id,
        sku_id=sku_id,
        kind=MovementKind.ADJUSTMENT,
        actor=actor,
        at=at,
        on_hand=delta,
        reason=reason,
        reference=reference,
    )
    return session.scalars(select(Stock).where(Stock.warehouse_id == warehouse_id, Stock.sku_id == sku_id)).one()


def transfer(
    session: Session,
    *,
    from_warehouse_id: int,
    to_warehouse_id: int,
    sku_id: int,
    quantity: int,
    actor: str,
    at: datetime,
    reason: str | None = None,
    reference: str | None = None,
) -> bool:
    """Move available (unreserved) units between warehouses: a conditional decrement at the source,
    an increment at the destination, two ledger rows. False if the source has too few available.
    Both stock rows are locked first in warehouse-id order, so opposite transfers cannot deadlock."""
    session.execute(
        select(Stock.id).where(Stock.sku_id == sku_id, Stock.warehouse_id.in_([from_warehouse_id, to_warehouse_id]))
        .order_by(Stock.warehouse_id).with_for_update()
    ).all()
    taken = session.execute(
        update(Stock)
        .where(
            Stock.warehouse_id == from_warehouse_id, Stock.sku_id == sku_id, Stock.on_hand - Stock.reserved >= quantity
        )
        .values(on_hand=Stock.on_hand - quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return False
    _movement(
        session,
        warehouse_id=from_warehouse_id,
        sku_id=sku_id,
        kind=MovementKind.TRANSFER_OUT,
        actor=actor,
        at=at,
        on_hand=-quantity,
        reason=reason,
        reference=reference,
    )
    receive(
        session, warehouse_id=to_warehouse_id, sku_id=sku_id, quantity=quantity, actor=actor, at=at,
        reason=reason, reference=reference, kind=MovementKind.TRANSFER_IN,
    )
    return True


def check_reorder(session: Session, policy: InventoryPolicy, sku_ids: Iterable[int], at: datetime, *,
                  falling: bool = False, levels_after: Mapping[tuple[int, int], int] | None = None) -> list[int]:
    """Raise a replenishment alert when a SKU's available stock falls below its reorder point —
    once per crossing — and clear it when the stock is back. Returns the ids of new alerts.
    ``falling``: the stock only went down (a reservation), so no alert can be cleared and the open
    ones are not read unless a level is below its point. ``levels_after``: the units available per
    (warehouse id, SKU id) as the caller knows them (what an allocation read, less what it reserved),
    instead of reading them again."""
    ids = sorted(set(sku_ids))
    if not ids:
        return []
    available = Stock.on_hand - Stock.reserved
    levels: Sequence[tuple[int, int | None, int]]
    if levels_after is not None:
        levels = _levels(levels_after, ids, by_warehouse=policy.reorder_scope == "warehouse")
    elif policy.reorder_scope == "total":
        levels = session.execute(
            select(Stock.sku_id, literal(None).label("warehouse_id"), func.sum(available))
            .where(Stock.sku_id.in_(ids)).group_by(Stock.sku_id)
        ).all()
    else:
        levels = session.execute(select(Stock.sku_id, Stock.warehouse_id, available).where(Stock.sku_id.in_(ids))).all()
    codes = {sku_id: sku.code for sku_id, sku in sku_views(session, ids).items()}

    def point_of(sku_id: int) -> int:
        return policy.reorder_points.get(codes.get(sku_id, ""), policy.reorder_point)

    if falling:
        levels = [(sku_id, warehouse_id, units) for sku_id, warehouse_id, units in levels if units < point_of(sku_id)]
        if not levels:
            return []
    open_alerts = {
        (a.sku_id, a.warehouse_id): a
        for a in session.scalars(select(ReorderAlert).where(ReorderAlert.sku_id.in_(ids),
                                                            ReorderAlert.cleared_at.is_(None)))
    }
    raised: list[int] = []
    for sku_id, warehouse_id, units in levels:
        point = point_of(sku_id)
        alert = open_alerts.get((sku_id, warehouse_id))
        if units < point and alert is None:
            # A concurrent crossing may have raised it meanwhile: the partial unique indexes on open
            # alerts (migration 0010) let exactly one insert win, the other does nothing.
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            alert_id = session.execute(
                insert(ReorderAlert).values(sku_id=sku_id, warehouse_id=warehouse_id, available=int(units),
                                            reorder_point=point, raised_at=at)
                .on_conflict_do_nothing().returning(ReorderAlert.id)
            ).scalar()
            if alert_id is None:
                continue
            enqueue(session, topic="stock.reorder", key=f"stock.reorder:{alert_id}", audience="warehouse", at=at,
                    payload={"sku": codes.get(sku_id), "warehouse_id": warehouse_id, "available": int(units),
                             "reorder_point": point})
            raised.append(alert_id)
        elif units >= point and alert is not None:
            alert.cleared_at = at
    return raised
