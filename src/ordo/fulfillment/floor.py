"""Warehouse layouts: set and read one per warehouse; the policy's default for a warehouse without one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.layout import BIN_EXAMPLE, FloorLayout, bin_fits, floor_layout, parse_bin
from ordo.fulfillment.schemas import LayoutIn, LayoutRead
from ordo.fulfillment.tables import WarehouseLayout
from ordo.inventory.tables import Stock, Warehouse
from ordo.kernel.errors import NotFound, Problem, ValidationFailed
from ordo.policy import LayoutDefaults

MAX_LISTED_BINS = 10


def default_layout(defaults: LayoutDefaults) -> FloorLayout:
    return floor_layout(defaults.model_dump())


def _row(session: Session, warehouse_id: int, *, for_update: bool = False) -> WarehouseLayout | None:
    statement = select(WarehouseLayout).where(WarehouseLayout.warehouse_id == warehouse_id)
    return session.scalars(statement.with_for_update() if for_update else statement).one_or_none()


def _spec(row: WarehouseLayout) -> FloorLayout:
    return FloorLayout(row.aisles, row.aisle_length_m, row.aisle_spacing_m, row.slot_length_m,
                       tuple(row.middle_cross_aisles_m or ()), row.depot_aisle)


def layout_of(session: Session, warehouse_id: int, defaults: LayoutDefaults) -> FloorLayout:
    """The warehouse's own layout, else the policy's default."""
    row = _row(session, warehouse_id)
    return _spec(row) if row is not None else default_layout(defaults)


def bin_problem(layout: FloorLayout, warehouse: str, value: str, path: str = "bin") -> Problem | None:
    """Why a bin code cannot be used in this warehouse, or None."""
    address = parse_bin(value)
    if address is None:
        return Problem(path, "bin_invalid", {"path": path, "value": value, "example": BIN_EXAMPLE})
    if not bin_fits(layout, address):
        return Problem(path, "bin_outside_layout", {"path": path, "value": value, "warehouse": warehouse,
                                                    "aisles": layout.aisles, "slots": layout.slots})
    return None


def _warehouse(session: Session, code: str, actor: Actor) -> Warehouse:
    warehouse = session.scalars(select(Warehouse).where(Warehouse.code == code)).one_or_none()
    if warehouse is None or (actor.warehouses and code not in actor.warehouses):
        raise NotFound("warehouse", code)
    return warehouse


def _read(warehouse: Warehouse, layout: FloorLayout, *, default: bool) -> LayoutRead:
    return LayoutRead(warehouse=warehouse.code, default=default, slots_per_side=layout.slots,
                      single_block=layout.single_block, **layout.as_dict())


def get_layout(uow: UnitOfWork, *, code: str, actor: Actor) -> LayoutRead:
    actor.require(Permission.REFERENCE_READ)
    warehouse = _warehouse(uow.session, code, actor)
    row = _row(uow.session, warehouse.id)
    if row is None:
        return _read(warehouse, default_layout(uow.policy.warehouse.layout), default=True)
    return _read(warehouse, _spec(row), default=False)


def set_layout(uow: UnitOfWork, *, code: str, body: LayoutIn, actor: Actor) -> LayoutRead:
    """Replace the warehouse's layout. Refused (422) when a bin already in use would fall outside it."""
    actor.require(Permission.WAREHOUSE_LAYOUT)
    session = uow.session
    warehouse = _warehouse(session, code, actor)
    values: Mapping[str, Any] = body.model_dump()
    layout = floor_layout(values)
    stranded = sorted(
        {
            bin_code
            for bin_code, in session.execute(
                select(Stock.bin).join(Sku, Sku.id == Stock.sku_id)
                .where(Stock.warehouse_id == warehouse.id, Stock.bin.is_not(None))
            )
            if bin_problem(layout, code, bin_code) is not None
        }
    )
    if stranded:
        shown = ", ".join(stranded[:MAX_LISTED_BINS]) + (" …" if len(stranded) > MAX_LISTED_BINS else "")
        raise ValidationFailed([Problem("aisles", "layout_strands_bins",
                                        {"path": "aisles", "bins": shown, "warehouse": code})])
    row = _row(session, warehouse.id, for_update=True)
    before = _spec(row).as_dict() if row is not None else None
    now = uow.clock.now()
    if row is None:
        row = WarehouseLayout(warehouse_id=warehouse.id, updated_by=actor.name, updated_at=now, **_columns(layout))
        session.add(row)
    else:
        for name, value in _columns(layout).items():
            setattr(row, name, value)
        row.updated_by, row.updated_at = actor.name, now
    session.flush()
    record(session, at=now, actor=actor.name, entity="warehouse", entity_id=warehouse.id,
           name="warehouse.layout_set", data={"code": code, "before": before, "after": layout.as_dict()})
    return _read(warehouse, layout, default=False)


def _columns(layout: FloorLayout) -> dict[str, Any]:
    columns = layout.as_dict()
    columns["middle_cross_aisles_m"] = list(layout.middle_cross_aisles_m)
    return columns
