"""HTTP for shops. Thin: parse, call the handler in one transaction, return its answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ordo.channel import handlers
from ordo.channel.schemas import ShopCreate, ShopPage, ShopRead, ShopUpdate
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.kernel.checks import MAX_PAGE

router = APIRouter(tags=["shops"])

_WRITE = {404: {"description": "No such shop"}, 422: {"description": "Invalid fields; every problem is listed"}}


@router.get("/shops", response_model=ShopPage)
def list_shops(
    uow: Reading,
    actor: CurrentActor,
    channel: str | None = None,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> ShopPage:
    return handlers.list_shops(uow, actor=actor, channel=channel, include_inactive=include_inactive, cursor=cursor,
                               limit=limit)


@router.get("/shops/{code}", response_model=ShopRead, responses={404: _WRITE[404]})
def get_shop(code: str, uow: Reading, actor: CurrentActor) -> ShopRead:
    return handlers.get_shop(uow, code=code, actor=actor)


@router.post(
    "/shops", response_model=ShopRead, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The code is taken"}, 422: _WRITE[422]},
)
def create_shop(body: ShopCreate, ordo: OrdoApp, actor: CurrentActor) -> ShopRead:
    return ordo.run(handlers.create_shop, data=body, actor=actor)


@router.patch("/shops/{code}", response_model=ShopRead, responses=_WRITE)
def update_shop(code: str, body: ShopUpdate, ordo: OrdoApp, actor: CurrentActor) -> ShopRead:
    return ordo.run(handlers.update_shop, code=code, changes=body, actor=actor)


@router.delete("/shops/{code}", response_model=ShopRead, responses={404: _WRITE[404]})
def delete_shop(code: str, ordo: OrdoApp, actor: CurrentActor) -> ShopRead:
    """Deactivate: its orders keep referring to it; intake no longer accepts orders for it."""
    return ordo.run(handlers.deactivate_shop, code=code, actor=actor)
