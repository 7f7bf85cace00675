"""HTTP for SKUs. Thin: parse, call the handler in one transaction, return its answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ordo.catalog import handlers
from ordo.catalog.schemas import SkuCreate, SkuPage, SkuRead, SkuUpdate
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.kernel.checks import MAX_PAGE

router = APIRouter(tags=["catalog"])

_WRITE = {404: {"description": "No such SKU"}, 422: {"description": "Invalid fields; every problem is listed"}}


@router.get("/skus", response_model=SkuPage)
def list_skus(
    uow: Reading,
    actor: CurrentActor,
    category: str | None = None,
    q: Annotated[str | None, Query(description="Part of the code or name")] = None,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> SkuPage:
    return handlers.list_skus(uow, actor=actor, category=category, q=q, include_inactive=include_inactive,
                              cursor=cursor, limit=limit)


@router.get("/skus/{code}", response_model=SkuRead, responses={404: {"description": "No such SKU"}})
def get_sku(code: str, uow: Reading, actor: CurrentActor) -> SkuRead:
    return handlers.get_sku(uow, code=code, actor=actor)


@router.post(
    "/skus", response_model=SkuRead, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The code is taken"}, 422: _WRITE[422]},
)
def create_sku(body: SkuCreate, ordo: OrdoApp, actor: CurrentActor) -> SkuRead:
    return ordo.run(handlers.create_sku, data=body, actor=actor)


@router.patch("/skus/{code}", response_model=SkuRead, responses=_WRITE)
def update_sku(code: str, body: SkuUpdate, ordo: OrdoApp, actor: CurrentActor) -> SkuRead:
    return ordo.run(handlers.update_sku, code=code, changes=body, actor=actor)


@router.delete("/skus/{code}", response_model=SkuRead, responses={404: _WRITE[404]})
def delete_sku(code: str, ordo: OrdoApp, actor: CurrentActor) -> SkuRead:
    """Deactivate: orders keep referring to it; new orders cannot use it."""
    return ordo.run(handlers.deactivate_sku, code=code, actor=actor)
