"""HTTP for the cross-border legs of a shipment. Thin: parse, call the handler, shape the answer."""

from __future__ import annotations

from fastapi import APIRouter

from ordo.auth.model import Permission
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.shipping.crossborder import queries
from ordo.shipping.crossborder.handlers import record_leg
from ordo.shipping.crossborder.schemas import LegActionIn, ShipmentLegsRead

router = APIRouter(tags=["shipping"])


@router.get("/shipments/{number}/legs", response_model=ShipmentLegsRead)
def get_legs(number: str, uow: Reading, actor: CurrentActor) -> ShipmentLegsRead:
    actor.require(Permission.ORDER_READ)
    return queries.shipment_legs(uow.session, uow.policy, number, actor)


@router.post(
    "/shipments/{number}/legs/{leg}",
    response_model=ShipmentLegsRead,
    responses={
        409: {"description": "Out of order (names the leg expected), already done, or the shipment cannot take it"},
        422: {"description": "Missing or invalid fields, e.g. lines[2].hs_code of the export declaration"},
    },
)
def post_leg(number: str, leg: str, body: LegActionIn, ordo: OrdoApp, actor: CurrentActor) -> ShipmentLegsRead:
    ordo.run(record_leg, shipment=number, leg=leg, body=body, actor=actor)
    with ordo.reading() as uow:
        return queries.shipment_legs(uow.session, uow.policy, number, actor)
