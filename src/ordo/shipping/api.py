"""HTTP for shipping: packing, carrier override, tracking events in, follow-up tasks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Body

from ordo.auth.model import Permission
from ordo.bootstrap import UnitOfWork
from ordo.entrypoints.api.deps import CurrentActor, OrdoApp, Reading
from ordo.fulfillment.states import rollup
from ordo.shipping import handlers, queries, steps
from ordo.shipping.schemas import (
    CarrierIn,
    FollowupDoneIn,
    FollowupRead,
    InterceptIn,
    InterceptRead,
    PackIn,
    PackingRead,
    ShippingRead,
    TrackingIn,
    TrackingResult,
)

router = APIRouter(tags=["shipping"])


def _read(ordo: OrdoApp, number: str, actor: CurrentActor) -> ShippingRead:
    with ordo.reading() as uow:
        handlers.load_shipment(uow.session, number, actor)
        return ShippingRead.model_validate(asdict(queries.shipping(uow.session, number)))


@router.get("/shipments/{number}/shipping", response_model=ShippingRead)
def get_shipping(number: str, ordo: OrdoApp, actor: CurrentActor) -> ShippingRead:
    """Parcels, carrier (with the rule and reason that chose it), tracking number and events."""
    actor.require(Permission.ORDER_READ)
    return _read(ordo, number, actor)


@router.get("/shipments/{number}/packing", response_model=PackingRead)
def get_packing(number: str, uow: Reading, actor: CurrentActor) -> PackingRead:
    """What the packer must do for this shipment's goods, and whether a temperature logger is needed."""
    actor.require(Permission.ORDER_READ)
    handlers.load_shipment(uow.session, number, actor)
    return PackingRead.model_validate(asdict(queries.packing(uow.session, number, uow.policy)))


@router.post("/shipments/{number}/pack", response_model=ShippingRead,
             responses={409: {"description": "An instruction unconfirmed, no parcel, or no logger for perishables"}})
def pack(number: str, body: PackIn, ordo: OrdoApp, actor: CurrentActor) -> ShippingRead:
    ordo.run(handlers.pack, number=number, confirmed=body.confirmed,
             parcels=[steps.ParcelIn(**p.model_dump()) for p in body.parcels],
             temperature_logger_id=body.temperature_logger_id, actor=actor)
    return _read(ordo, number, actor)


@router.post("/shipments/{number}/carrier", response_model=ShippingRead)
def override_carrier(number: str, body: CarrierIn, ordo: OrdoApp, actor: CurrentActor) -> ShippingRead:
    """Logistics replaces the chosen carrier, with a reason (before hand-over)."""
    ordo.run(handlers.override_carrier, number=number, carrier=body.carrier, reason=body.reason, actor=actor)
    return _read(ordo, number, actor)


@router.post("/shipments/{number}/intercept", response_model=InterceptRead,
             responses={409: {"description": "Not with the carrier (or delivered already), or the carrier refused"}})
def intercept(number: str, body: InterceptIn, ordo: OrdoApp, actor: CurrentActor) -> InterceptRead:
    """Logistics stops a parcel already with the carrier; ``carrier_confirmed`` false means call the carrier."""
    def command(uow: UnitOfWork) -> InterceptRead:
        done = handlers.intercept(uow, number=number, reason=body.reason, actor=actor)
        s, o = done.shipment, done.order
        return InterceptRead(
            shipment=s.number, order=o.number, status=s.status, carrier=s.carrier, tracking_number=s.tracking_number,
            carrier_confirmed=done.carrier_confirmed, order_status=o.status,
            shipping_progress=rollup(handlers.statuses_of(uow.session, o)),
        )

    return ordo.run(command)


@router.post("/shipments/{number}/tracking", response_model=TrackingResult,
             responses={409: {"description": "The shipment's state does not allow this event"}})
def track(number: str, body: TrackingIn, ordo: OrdoApp, actor: CurrentActor) -> TrackingResult:
    outcome = ordo.run(handlers.track, number=number, kind=body.kind, at=body.at, location=body.location,
                       note=body.note, actor=actor)
    return TrackingResult(stored=outcome.stored, duplicates=outcome.duplicates)


@router.post("/tracking/import", response_model=TrackingResult,
             responses={422: {"description": "Every bad row and column named; nothing stored"},
                        409: {"description": "A row's event is not allowed in its shipment's state"}})
def import_tracking(
    body: Annotated[str, Body(media_type="text/csv", description="tracking_number,event,at[,location,note]")],
    ordo: OrdoApp, actor: CurrentActor,
) -> TrackingResult:
    outcome = ordo.run(handlers.import_csv, text=body, actor=actor)
    return TrackingResult(stored=outcome.stored, duplicates=outcome.duplicates)


@router.get("/followups", response_model=list[FollowupRead])
def list_followups(uow: Reading, actor: CurrentActor,
                   status: Literal["open", "done"] | None = None) -> list[FollowupRead]:
    actor.require(Permission.FOLLOWUP_WORK)
    return [FollowupRead.model_validate(asdict(f)) for f in queries.followups(uow.session, actor, status=status)]


@router.post("/followups/{task_id}/done", response_model=FollowupRead)
def finish_followup(task_id: int, body: FollowupDoneIn, ordo: OrdoApp, actor: CurrentActor) -> FollowupRead:
    ordo.run(handlers.finish_followup, task_id=task_id, note=body.note, actor=actor)
    with ordo.reading() as uow:
        (found,) = queries.followups(uow.session, actor, status=None, task_id=task_id)
    return FollowupRead.model_validate(asdict(found))
