"""Warehouse commands and reads, stock receipts and stock levels.

A warehouse is deactivated, never deleted, and not while orders hold stock reserved in it: those
shipments would have nowhere to be picked from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.floor import bin_problem, layout_of
from ordo.fulfillment.layout import parse_bin
from ordo.inventory.handlers import adjust, check_reorder, ensure_row, receive, restocking
from ordo.inventory.handlers import transfer as transfer_units
from ordo.inventory.model import MovementKind, ReservationStatus
from ordo.inventory.schemas import (
    StockAdjustmentIn,
    StockBinIn,
    StockLevel,
    StockList,
    StockReceiptIn,
    StockTransferIn,
    StockTransferOut,
    WarehouseCreate,
    WarehousePage,
    WarehouseRead,
    WarehouseUpdate,
)
from ordo.inventory.tables import Reservation, Stock, Warehouse
from ordo.kernel.checks import MAX_PAGE, Checks, Outcome
from ordo.kernel.errors import Conflict, Forbidden, NotFound, Problem

WAREHOUSE = "warehouse"
KINDS = ("domestic", "overseas")
MAX_PRIORITY = 10_000
MAX_RECEIPT = 1_000_000
MAX_STOCK_ROWS = 1000
COLUMNS = ("code", "name", "kind", "country", "region", "serves", "capabilities", "priority", "active")


def warehouse_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pure: the normalised columns of a warehouse, or every problem at once."""
    checks = Checks()
    columns = {
        "code": checks.code(values),
        "name": checks.text(values, "name"),
        "kind": checks.one_of(values, "kind", KINDS),
        "country": checks.country(values, "country"),
        "region": checks.text(values, "region"),
        "serves": checks.countries(values, "serves"),
        "capabilities": checks.identifiers(values, "capabilities"),
        "priority": checks.whole(values, "priority", low=0, high=MAX_PRIORITY, default=100),
        "active": checks.flag(values, "active", default=True),
    }
    checks.raise_any()
    return columns


def _find(session: Session, code: str | None, *, for_update: bool = False) -> Warehouse | None:
    if not code:
        return None
    statement = select(Warehouse).where(Warehouse.code == code)
    return session.scalars(statement.with_for_update() if for_update else statement).one_or_none()


def _load(session: Session, code: str, *, for_update: bool = False) -> Warehouse:
    warehouse = _find(session, code, for_update=for_update)
    if warehouse is None:
        raise NotFound(WAREHOUSE, code)
    return warehouse


def _stored(warehouse: Warehouse) -> dict[str, Any]:
    return {name: getattr(warehouse, name) for name in COLUMNS}


def _insert(uow: UnitOfWork, columns: dict[str, Any], actor: Actor) -> Warehouse:
    if _find(uow.session, columns["code"]) is not None:
        raise Conflict("reference_exists", kind=WAREHOUSE, ident=columns["code"])
    warehouse = Warehouse(**columns)
    uow.session.add(warehouse)
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent twin won the race for the code
        raise Conflict("reference_exists", kind=WAREHOUSE, ident=columns["code"]) from None
    record(
        uow.session,
        at=uow.clock.now(),
        actor=actor.name,
        entity="warehouse",
        entity_id=warehouse.id,
        name="warehouse.created",
        data={"code": warehouse.code},
    )
    return warehouse


def _ensure_unused(session: Session, warehouse: Warehouse) -> None:
    orders = session.scalar(
        select(func.count(func.distinct(Reservation.order_id))).where(
            Reservation.warehouse_id == warehouse.id, Reservation.status == ReservationStatus.OPEN
        )
    )
    if orders:
        raise Conflict("reference_in_use", kind=WAREHOUSE, ident=warehouse.code, count=orders)


def _change(uow: UnitOfWork, warehouse: Warehouse, columns: dict[str, Any], actor: Actor) -> Outcome:
    changed = sorted(name for name, value in columns.items() if getattr(warehouse, name) != value)
    if not changed:
        return Outcome.UNCHANGED
    if "active" in changed and not columns["active"]:
        _ensure_unused(uow.session, warehouse)
    for name in changed:
        setattr(warehouse, name, columns[name])
    record(
        uow.session,
        at=uow.clock.now(),
        actor=actor.name,
        entity="warehouse",
        entity_id=warehouse.id,
        name="warehouse.updated",
        data={"code": warehouse.code, "fields": changed},
    )
    return Outcome.UPDATED


def create_warehouse(uow: UnitOfWork, *, data: WarehouseCreate, actor: Actor) -> WarehouseRead:
    actor.require(Permission.REFERENCE_WRITE)
    columns = warehouse_columns(data.model_dump(exclude_unset=True))
    return WarehouseRead.model_validate(_insert(uow, columns, actor))


def update_warehouse(uow: UnitOfWork, *, code: str, changes: WarehouseUpdate, actor: Actor) -> WarehouseRead:
    actor.require(Permission.REFERENCE_WRITE)
    warehouse = _load(uow.session, code, for_update=True)
    columns = warehouse_columns({**_stored(warehouse), **changes.model_dump(exclude_unset=True)})
    _change(uow, warehouse, columns, actor)
    return WarehouseRead.model_validate(warehouse)


def save_warehouse(uow: UnitOfWork, *, data: WarehouseCreate, actor: Actor) -> tuple[WarehouseRead, Outcome]:
    """Create, or update the warehouse with the same code (the fields sent; the others stay)."""
    actor.require(Permission.REFERENCE_WRITE)
    sent = data.model_dump(exclude_unset=True)
    warehouse = _find(uow.session, sent.get("code"), for_update=True)
    if warehouse is None:
        return WarehouseRead.model_validate(_insert(uow, warehouse_columns(sent), actor)), Outcome.CREATED
    outcome = _change(uow, warehouse, warehouse_columns({**_stored(warehouse), **sent}), actor)
    return WarehouseRead.model_validate(warehouse), outcome


def deactivate_warehouse(uow: UnitOfWork, *, code: str, actor: Actor) -> WarehouseRead:
    actor.require(Permission.REFERENCE_WRITE)
    warehouse = _load(uow.session, code, for_update=True)
    if warehouse.active:
        _ensure_unused(uow.session, warehouse)
        warehouse.active = False
        record(
            uow.session,
            at=uow.clock.now(),
            actor=actor.name,
            entity="warehouse",
            entity_id=warehouse.id,
            name="warehouse.deactivated",
            data={"code": warehouse.code},
        )
    return WarehouseRead.model_validate(warehouse)


def get_warehouse(uow: UnitOfWork, *, code: str, actor: Actor) -> WarehouseRead:
    actor.require(Permission.REFERENCE_READ)
    return WarehouseRead.model_validate(_load(uow.session, code))


def list_warehouses(
    uow: UnitOfWork,
    *,
    actor: Actor,
    kind: str | None = None,
    country: str | None = None,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> WarehousePage:
    """By code; the cursor is the last code seen."""
    actor.require(Permission.REFERENCE_READ)
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(Warehouse)
    if not include_inactive:
        statement = statement.where(Warehouse.active.is_(True))
    if kind:
        statement = statement.where(Warehouse.kind == kind)
    if country:
        statement = statement.where(Warehouse.country == country.upper())
    if cursor:
        statement = statement.where(Warehouse.code > cursor)
    rows = uow.session.scalars(statement.order_by(Warehouse.code).limit(limit + 1)).all()
    items = [WarehouseRead.model_validate(w) for w in rows[:limit]]
    return WarehousePage(items=items, next_cursor=items[-1].code if len(rows) > limit else None)


# --- stock ------------------------------------------------------------------------------------------


def _in_scope(actor: Actor, warehouse_code: str) -> bool:
    return not actor.warehouses or warehouse_code in actor.warehouses


def _stock_target(session: Session, checks: Checks, values: Mapping[str, Any]) -> tuple[Warehouse | None, Sku | None]:
    """The active warehouse and SKU a stock command names, each problem added to ``checks``."""
    warehouse_code = checks.text(values, "warehouse")
    warehouse = _find(session, warehouse_code)
    if warehouse_code and warehouse is None:
        checks.add("warehouse", "warehouse_unknown", value=warehouse_code)
    elif warehouse is not None and not warehouse.active:
        checks.add("warehouse", "reference_inactive", kind=WAREHOUSE, value=warehouse_code)
    sku_code = checks.text(values, "sku")
    sku = session.scalars(select(Sku).where(Sku.code == sku_code)).one_or_none() if sku_code else None
    if sku_code and sku is None:
        checks.add("sku", "sku_unknown", value=sku_code)
    elif sku is not None and not sku.active:
        checks.add("sku", "reference_inactive", kind="SKU", value=sku_code)
    return warehouse, sku


def _level(warehouse: Warehouse, sku: Sku, stock: Stock) -> StockLevel:
    return StockLevel(
        warehouse=warehouse.code,
        sku=sku.code,
        on_hand=stock.on_hand,
        reserved=stock.reserved,
        available=stock.on_hand - stock.reserved,
        bin=stock.bin,
    )




def set_bin(uow: UnitOfWork, *, body: StockBinIn, actor: Actor) -> StockLevel:
    """Where a SKU lies in a warehouse (pick routes walk to it); an empty bin clears it."""
    actor.require(Permission.STOCK_WRITE)
    session, values = uow.session, body.model_dump()
    checks = Checks()
    warehouse, sku = _stock_target(session, checks, values)
    place = (body.bin or "").strip().upper() or None
    if place is not None and warehouse is not None:
        # The bin must name a slot of the warehouse's floor (``fulfillment.layout``: A03-015-L).
        problem = bin_problem(layout_of(session, warehouse.id, uow.policy.warehouse.layout), warehouse.code, place)
        if problem is not None:
            checks.problems.append(problem if problem.key != "bin_invalid" else
                                   Problem("bin", "bin_invalid", {**problem.params, "value": body.bin}))
    elif place is not None and parse_bin(place) is None:
        checks.add("bin", "bin_invalid", value=body.bin)
    checks.raise_any()
    assert warehouse is not None and sku is not None
    if not _in_scope(actor, warehouse.code):
        raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)), action=f"set bins in {warehouse.code}")
    stock = session.scalars(select(Stock).where(Stock.warehouse_id == warehouse.id, Stock.sku_id == sku.id)
                            .with_for_update()).one_or_none()
    if stock is None:
        stock = Stock(warehouse_id=warehouse.id, sku_id=sku.id, on_hand=0, reserved=0)
        session.add(stock)
    stock.bin = place
    session.flush()
    return _level(warehouse, sku, stock)


def receive_stock(uow: UnitOfWork, *, receipt: StockReceiptIn, actor: Actor) -> StockLevel:
    """Goods in: on hand grows by the quantity, and the ledger records who, when and why."""
    actor.require(Permission.STOCK_WRITE)
    session, values = uow.session, receipt.model_dump()
    checks = Checks()
    warehouse, sku = _stock_target(session, checks, values)
    if receipt.quantity is None:
        checks.add("quantity", "required")
    else:
        checks.whole(values, "quantity", low=1, high=MAX_RECEIPT, default=0)
    checks.raise_any()
    assert warehouse is not None and sku is not None and receipt.quantity is not None
    if not _in_scope(actor, warehouse.code):
        raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)), action=f"receive stock in {warehouse.code}")
    # The row first, then the SKU's rows locked (``restocking``): a row another first receipt
    # inserts meanwhile is then either among them or waited for before any is held.
    ensure_row(session, warehouse_id=warehouse.id, sku_id=sku.id)
    with restocking(uow, [sku.id]):
        stock = receive(
            session,
            warehouse_id=warehouse.id,
            sku_id=sku.id,
            quantity=receipt.quantity,
            actor=actor.name,
            at=uow.clock.now(),
            reason=receipt.reason,
            reference=receipt.reference,
            kind=MovementKind(receipt.kind),
        )
    check_reorder(session, uow.policy.inventory, [sku.id], uow.clock.now())
    return _level(warehouse, sku, stock)


def adjust_stock(uow: UnitOfWork, *, adjustment: StockAdjustmentIn, actor: Actor) -> StockLevel:
    """Correct on hand with a reason; never below what is reserved for orders."""
    actor.require(Permission.STOCK_WRITE)
    session, values = uow.session, adjustment.model_dump()
    checks = Checks()
    warehouse, sku = _stock_target(session, checks, values)
    if adjustment.delta is None:
        checks.add("delta", "required")
    elif adjustment.delta == 0 or abs(adjustment.delta) > MAX_RECEIPT:
        checks.add("delta", "adjustment_out_of_range", max=MAX_RECEIPT, value=adjustment.delta)
    reason = checks.text(values, "reason")
    checks.raise_any()
    assert warehouse is not None and sku is not None and adjustment.delta is not None and reason is not None
    if not _in_scope(actor, warehouse.code):
        raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)), action=f"adjust stock in {warehouse.code}")
    # A positive correction (a find) may serve waiting orders; a negative one serves nobody.
    if adjustment.delta > 0:
        ensure_row(session, warehouse_id=warehouse.id, sku_id=sku.id)  # before the rows are locked
    with restocking(uow, [sku.id] if adjustment.delta > 0 else []):
        stock = adjust(
            session,
            warehouse_id=warehouse.id,
            sku_id=sku.id,
            delta=adjustment.delta,
            actor=actor.name,
            at=uow.clock.now(),
            reason=reason,
            reference=adjustment.reference,
        )
    if stock is None:
        current = session.scalars(
            select(Stock).where(Stock.warehouse_id == warehouse.id, Stock.sku_id == sku.id)
        ).first()
        raise Conflict(
            "stock_below_reserved",
            warehouse=warehouse.code,
            sku=sku.code,
            delta=adjustment.delta,
            on_hand=current.on_hand if current else 0,
            reserved=current.reserved if current else 0,
        )
    check_reorder(session, uow.policy.inventory, [sku.id], uow.clock.now())
    return _level(warehouse, sku, stock)


def transfer_stock(uow: UnitOfWork, *, transfer: StockTransferIn, actor: Actor) -> StockTransferOut:
    """Move available units of a SKU from one warehouse to another (reserved units stay put)."""
    actor.require(Permission.STOCK_WRITE)
    session, values = uow.session, transfer.model_dump()
    checks = Checks()
    source, sku = _stock_target(session, checks, {**values, "warehouse": values.get("from_warehouse")})
    destination, _ = _stock_target(session, Checks(), {**values, "warehouse": values.get("to_warehouse")})
    checks.problems = [_renamed(p, "from_warehouse") for p in checks.problems]
    if not transfer.to_warehouse:
        checks.add("to_warehouse", "required")
    elif destination is None or not destination.active:
        checks.add("to_warehouse", "warehouse_unknown", value=transfer.to_warehouse)
    elif source is not None and destination.id == source.id:
        checks.add("to_warehouse", "transfer_same_warehouse", value=transfer.to_warehouse)
    if transfer.quantity is None:
        checks.add("quantity", "required")
    else:
        checks.whole(values, "quantity", low=1, high=MAX_RECEIPT, default=0)
    checks.raise_any()
    assert source is not None and destination is not None and sku is not None and transfer.quantity is not None
    for warehouse in (source, destination):
        if not _in_scope(actor, warehouse.code):
            raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)), action=f"move stock in {warehouse.code}")
    # The destination may serve waiting orders its source could not.
    ensure_row(session, warehouse_id=destination.id, sku_id=sku.id)  # before the rows are locked
    with restocking(uow, [sku.id]):
        moved = transfer_units(
            session,
            from_warehouse_id=source.id,
            to_warehouse_id=destination.id,
            sku_id=sku.id,
            quantity=transfer.quantity,
            actor=actor.name,
            at=uow.clock.now(),
            reason=transfer.reason,
            reference=transfer.reference,
        )
    levels = {
        w.id: session.scalars(select(Stock).where(Stock.warehouse_id == w.id, Stock.sku_id == sku.id)).first()
        for w in (source, destination)
    }
    if not moved:
        current = levels[source.id]
        raise Conflict(
            "transfer_short",
            warehouse=source.code,
            sku=sku.code,
            requested=transfer.quantity,
            available=(current.on_hand - current.reserved) if current else 0,
        )
    check_reorder(session, uow.policy.inventory, [sku.id], uow.clock.now())
    return StockTransferOut(
        source=_level(source, sku, levels[source.id]), destination=_level(destination, sku, levels[destination.id])
    )


def _renamed(problem: Problem, path: str) -> Problem:
    if problem.path != "warehouse":
        return problem
    return Problem(path, problem.key, {**problem.params, "path": path})


def stock_levels(
    uow: UnitOfWork,
    *,
    actor: Actor,
    sku: str | None = None,
    warehouse: str | None = None,
    limit: int = MAX_STOCK_ROWS,
) -> StockList:
    """On hand, reserved and available per warehouse and SKU, by warehouse then SKU code. A SKU
    never received in a named warehouse shows as zero rather than missing."""
    actor.require(Permission.STOCK_READ)
    session = uow.session
    if sku and session.scalar(select(Sku.id).where(Sku.code == sku)) is None:
        raise NotFound("SKU", sku)
    if warehouse and _find(session, warehouse) is None:
        raise NotFound(WAREHOUSE, warehouse)
    statement = (
        select(Warehouse.code, Sku.code, Stock.on_hand, Stock.reserved, Stock.bin)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .join(Sku, Sku.id == Stock.sku_id)
    )
    if sku:
        statement = statement.where(Sku.code == sku)
    if warehouse:
        statement = statement.where(Warehouse.code == warehouse)
    if actor.warehouses:
        statement = statement.where(Warehouse.code.in_(sorted(actor.warehouses)))
    rows = session.execute(statement.order_by(Warehouse.code, Sku.code).limit(max(1, min(limit, MAX_STOCK_ROWS))))
    items = [StockLevel(warehouse=w, sku=s, on_hand=h, reserved=r, available=h - r, bin=b) for w, s, h, r, b in rows]
    if not items and sku and warehouse and _in_scope(actor, warehouse):
        items = [StockLevel(warehouse=warehouse, sku=sku, on_hand=0, reserved=0, available=0)]
    return StockList(items=items)
