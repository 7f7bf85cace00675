"""HTTP for the warehouse floor: layouts, pick lists, scans. Thin: parse, call the handler, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.fulfillment import floor, picking, scanning
from ordo.fulfillment.schemas import (
    LayoutIn,
    LayoutRead,
    PickListPage,
    PickListRead,
    PickReleaseIn,
    ScanIn,
    ScanRead,
    ScanSummary,
)
from ordo.kernel.checks import MAX_PAGE

router = APIRouter(tags=["warehouse floor"])


@router.get("/warehouses/{code}/layout", response_model=LayoutRead,
            responses={404: {"description": "No such warehouse"}})
def get_layout(code: str, uow: Reading, actor: CurrentActor) -> LayoutRead:
    """The warehouse's floor; the policy's default (``default: true``) when it has none of its own."""
    return floor.get_layout(uow, code=code, actor=actor)


@router.put("/warehouses/{code}/layout", response_model=LayoutRead,
            responses={404: {"description": "No such warehouse"},
                       422: {"description": "Invalid fields, or bins in use would fall outside"}})
def set_layout(code: str, body: LayoutIn, ordo: OrdoApp, actor: CurrentActor) -> LayoutRead:
    return ordo.run(floor.set_layout, code=code, body=body, actor=actor)


@router.post("/pick-lists", response_model=list[PickListRead], status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "A SKU to pick has no bin in the layout"}})
def release(body: PickReleaseIn, ordo: OrdoApp, actor: CurrentActor) -> list[PickListRead]:
    """Release a wave: the warehouse's allocated shipments on no list yet, grouped into pick lists."""
    return ordo.run(picking.release_pick_lists, body=body, actor=actor)


@router.get("/pick-lists", response_model=PickListPage)
def list_pick_lists(
    uow: Reading, actor: CurrentActor, warehouse: str | None = None, status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> PickListPage:
    return picking.list_pick_lists(uow, actor=actor, warehouse=warehouse, status=status, limit=limit)


@router.get("/pick-lists/{number}", response_model=PickListRead, responses={404: {"description": "No such list"}})
def get_pick_list(number: str, uow: Reading, actor: CurrentActor) -> PickListRead:
    """The stops in route order with the route length in metres."""
    return picking.get_pick_list(uow, number=number, actor=actor)


@router.post("/pick-lists/{number}/claim", response_model=PickListRead,
             responses={409: {"description": "Someone else has the list"}})
def claim(number: str, ordo: OrdoApp, actor: CurrentActor) -> PickListRead:
    return ordo.run(picking.claim_pick_list, number=number, actor=actor)


@router.post("/shipments/{number}/scans", response_model=ScanRead, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "Refused (wrong SKU, too many, unknown barcode — stored as refused), "
                                             "or the shipment is not at this stage"}})
def scan(number: str, body: ScanIn, ordo: OrdoApp, actor: CurrentActor) -> ScanRead:
    outcome = ordo.run(scanning.record_scan, shipment=number, body=body, actor=actor)
    return outcome.raise_if_refused()


@router.get("/shipments/{number}/scans", response_model=ScanSummary)
def scans(number: str, uow: Reading, actor: CurrentActor) -> ScanSummary:
    """Expected, scanned and missing units per stage, and every scan."""
    return scanning.scan_summary(uow, shipment=number, actor=actor)
