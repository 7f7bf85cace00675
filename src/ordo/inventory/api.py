"""HTTP for warehouses and stock. Thin: parse, call the handler in one transaction, return its answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ordo.auth.model import Permission
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.inventory import queries
from ordo.inventory import warehouses as handlers
from ordo.inventory.schemas import (
    Availability,
    LedgerRead,
    ReorderAlertRead,
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
from ordo.kernel.checks import MAX_PAGE

router = APIRouter(tags=["warehouses and stock"])

_WRITE = {
    404: {"description": "No such warehouse"},
    409: {"description": "Orders hold stock reserved in it"},
    422: {"description": "Invalid fields; every problem is listed"},
}


@router.get("/warehouses", response_model=WarehousePage)
def list_warehouses(
    uow: Reading,
    actor: CurrentActor,
    kind: str | None = None,
    country: str | None = None,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> WarehousePage:
    return handlers.list_warehouses(uow, actor=actor, kind=kind, country=country, include_inactive=include_inactive,
                                    cursor=cursor, limit=limit)


@router.get("/warehouses/{code}", response_model=WarehouseRead, responses={404: _WRITE[404]})
def get_warehouse(code: str, uow: Reading, actor: CurrentActor) -> WarehouseRead:
    return handlers.get_warehouse(uow, code=code, actor=actor)


@router.post(
    "/warehouses", response_model=WarehouseRead, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The code is taken"}, 422: _WRITE[422]},
)
def create_warehouse(body: WarehouseCreate, ordo: OrdoApp, actor: CurrentActor) -> WarehouseRead:
    return ordo.run(handlers.create_warehouse, data=body, actor=actor)


@router.patch("/warehouses/{code}", response_model=WarehouseRead, responses=_WRITE)
def update_warehouse(code: str, body: WarehouseUpdate, ordo: OrdoApp, actor: CurrentActor) -> WarehouseRead:
    return ordo.run(handlers.update_warehouse, code=code, changes=body, actor=actor)


@router.delete("/warehouses/{code}", response_model=WarehouseRead, responses={404: _WRITE[404], 409: _WRITE[409]})
def delete_warehouse(code: str, ordo: OrdoApp, actor: CurrentActor) -> WarehouseRead:
    """Deactivate; refused while orders hold stock reserved in it."""
    return ordo.run(handlers.deactivate_warehouse, code=code, actor=actor)


@router.post(
    "/stock/receipts", response_model=StockLevel, status_code=status.HTTP_201_CREATED,
    responses={422: _WRITE[422]},
)
def receive_stock(body: StockReceiptIn, ordo: OrdoApp, actor: CurrentActor) -> StockLevel:
    """Goods in: the quantity is added to on hand; the answer is the stock level after it."""
    return ordo.run(handlers.receive_stock, receipt=body, actor=actor)


@router.post("/stock/adjustments", response_model=StockLevel, status_code=status.HTTP_201_CREATED)
def adjust_stock(body: StockAdjustmentIn, ordo: OrdoApp, actor: CurrentActor) -> StockLevel:
    """Correct on hand with a reason (count, damage, find); refused below what orders have reserved."""
    return ordo.run(handlers.adjust_stock, adjustment=body, actor=actor)


@router.post("/stock/transfers", response_model=StockTransferOut, status_code=status.HTTP_201_CREATED)
def transfer_stock(body: StockTransferIn, ordo: OrdoApp, actor: CurrentActor) -> StockTransferOut:
    """Move available units between warehouses; both levels after the move are returned."""
    return ordo.run(handlers.transfer_stock, transfer=body, actor=actor)


@router.get("/stock", response_model=StockList, responses={404: {"description": "No such SKU or warehouse"}})
def stock_levels(
    uow: Reading,
    actor: CurrentActor,
    sku: str | None = None,
    warehouse: str | None = None,
    limit: Annotated[int, Query(ge=1, le=handlers.MAX_STOCK_ROWS)] = handlers.MAX_STOCK_ROWS,
) -> StockList:
    return handlers.stock_levels(uow, actor=actor, sku=sku, warehouse=warehouse, limit=limit)


@router.put("/stock/bins", response_model=StockLevel)
def set_bin(body: StockBinIn, ordo: OrdoApp, actor: CurrentActor) -> StockLevel:
    """Set (or clear) the bin location of a SKU in a warehouse."""
    return ordo.run(handlers.set_bin, body=body, actor=actor)


@router.get("/stock/ledger", response_model=list[LedgerRead])
def stock_ledger(
    uow: Reading,
    actor: CurrentActor,
    sku: str,
    warehouse: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[LedgerRead]:
    """The newest movements of a SKU (receipts, returns, adjustments, transfers, reservations,
    releases, shipments), newest first."""
    actor.require(Permission.STOCK_READ)
    return [LedgerRead(**row.__dict__) for row in queries.ledger(uow.session, sku=sku, warehouse=warehouse,
                                                                  limit=limit)]


@router.get("/inventory/availability", response_model=list[Availability])
def available_to_promise(
    uow: Reading,
    actor: CurrentActor,
    channel: Annotated[str, Query(min_length=1, max_length=32, description="Channel kind, e.g. marketplace")],
    sku: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> list[Availability]:
    """What each channel may sell per SKU (safety stock per channel kept back)."""
    actor.require(Permission.STOCK_READ)
    return queries.availability(uow.session, uow.policy.inventory, channel=channel, skus=sku)


@router.get("/inventory/alerts", response_model=list[ReorderAlertRead])
def reorder_alerts(uow: Reading, actor: CurrentActor, include_cleared: bool = False) -> list[ReorderAlertRead]:
    """Replenishment alerts: SKUs below their reorder point (open until the stock recovers)."""
    actor.require(Permission.STOCK_READ)
    return queries.reorder_alerts(uow.session, open_only=not include_cleared)
