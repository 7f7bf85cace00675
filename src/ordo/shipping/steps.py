"""What the shipping package adds to the shipment steps, whichever path moves the shipment (the
shipping API, the order actions, tracking): the guards of ``pack`` and ``hand_over``, the work
done right after ``pack`` (carrier choice), ``hand_over`` (booking) and ``ship`` (first movement),
and the booking a ``ship`` request must keep (``keep_booking``).

``order.handlers`` imports this module, so the guards are registered whenever shipments can move.
It must not import ``order.handlers`` back.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordo.adapters.carriers.base import BookingRequest
from ordo.audit.log import record
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.handlers import guard
from ordo.fulfillment.states import ShipmentTrigger
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.kernel.errors import Conflict, Problem, ValidationFailed
from ordo.order.tables import Order
from ordo.policy import Policy
from ordo.shipping.rules import (
    Booking,
    CarrierChoice,
    CarrierValues,
    PackingPlan,
    ParcelFacts,
    booking_conflicts,
    carrier_named,
    chargeable_weight_g,
    choose_carrier,
    packing_plan,
    volumetric_weight_g,
)
from ordo.shipping.tables import Parcel, ShippingRecord


@dataclass(frozen=True)
class ParcelIn:
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int


def goods(session: Session, shipment: Shipment) -> tuple[frozenset[str], frozenset[str]]:
    """(traits, categories) of the SKUs in the shipment."""
    rows = session.execute(
        select(Sku.traits, Sku.category).join(ShipmentLine, ShipmentLine.sku_id == Sku.id)
        .where(ShipmentLine.shipment_id == shipment.id)
    ).all()
    return frozenset(t for traits, _ in rows for t in traits or ()), frozenset(c for _, c in rows)


def plan_for(session: Session, shipment: Shipment, policy: Policy) -> PackingPlan:
    traits, _ = goods(session, shipment)
    return packing_plan(traits, policy.shipping.packing_rules)


def shipping_record(session: Session, shipment: Shipment) -> ShippingRecord:
    found = session.get(ShippingRecord, shipment.id)
    if found is None:
        found = ShippingRecord(shipment_id=shipment.id, confirmed=[], carrier_overridden=False)
        session.add(found)
        session.flush()
    return found


def parcels_of(session: Session, shipment_id: int) -> list[Parcel]:
    return list(session.scalars(select(Parcel).where(Parcel.shipment_id == shipment_id).order_by(Parcel.seq)))


def record_packing(
    session: Session,
    shipment: Shipment,
    *,
    confirmed: list[str],
    parcels: list[ParcelIn],
    temperature_logger_id: str | None,
    at: datetime,
) -> ShippingRecord:
    """What the packer confirmed and weighed (replaces an earlier record); the step itself is ``pack``."""
    rec = shipping_record(session, shipment)
    rec.confirmed = list(dict.fromkeys(confirmed))
    rec.temperature_logger_id = temperature_logger_id or None
    session.execute(delete(Parcel).where(Parcel.shipment_id == shipment.id))
    for seq, p in enumerate(parcels, start=1):
        session.add(
            Parcel(shipment_id=shipment.id, seq=seq, weight_g=p.weight_g, length_mm=p.length_mm,
                   width_mm=p.width_mm, height_mm=p.height_mm, created_at=at)
        )
    session.flush()
    return rec


def _policy(session: Session) -> Policy:
    return session.info.get("policy") or Policy()


@guard(ShipmentTrigger.PACK)
def packing_complete(session: Session, shipment: Shipment, actor: str) -> None:
    """Every packing instruction confirmed, at least one parcel weighed, a logger for perishables."""
    plan = plan_for(session, shipment, _policy(session))
    rec = session.get(ShippingRecord, shipment.id)
    confirmed = set(rec.confirmed if rec else ())
    missing = [i for i in plan.instructions if i not in confirmed]
    if missing:
        raise Conflict("packing_unconfirmed", shipment=shipment.number, missing=", ".join(missing))
    if not parcels_of(session, shipment.id):
        raise Conflict("packing_no_parcels", shipment=shipment.number)
    if plan.temperature_logger and not (rec and rec.temperature_logger_id):
        raise Conflict("packing_logger_missing", shipment=shipment.number)


@guard(ShipmentTrigger.HAND_OVER)
def carrier_chosen(session: Session, shipment: Shipment, actor: str) -> None:
    if not shipment.carrier:
        raise Conflict("carrier_not_chosen", shipment=shipment.number)


def reweigh(session: Session, shipment: Shipment, policy: Policy) -> int:
    """Volumetric and chargeable weight of every parcel by the shipment's carrier; the total chargeable."""
    carrier = policy.shipping.carriers.get(shipment.carrier or "")
    divisor = carrier.volumetric_divisor if carrier else None
    total = 0
    for p in parcels_of(session, shipment.id):
        p.divisor = divisor
        if divisor:
            p.volumetric_weight_g = volumetric_weight_g(p.length_mm, p.width_mm, p.height_mm, divisor)
            p.chargeable_weight_g = chargeable_weight_g(p.weight_g, p.length_mm, p.width_mm, p.height_mm, divisor)
        else:
            p.volumetric_weight_g = p.chargeable_weight_g = None
        total += p.chargeable_weight_g or p.weight_g
    return total


def choose(session: Session, shipment: Shipment, policy: Policy) -> tuple[CarrierChoice, ParcelFacts]:
    order = session.get_one(Order, shipment.order_id)
    traits, categories = goods(session, shipment)
    weight = sum(p.weight_g for p in parcels_of(session, shipment.id))
    facts = ParcelFacts(order.service_type, weight, traits, categories)
    return choose_carrier(facts, policy.shipping), facts


def after_pack(uow: UnitOfWork, shipment: Shipment, *, actor: str) -> None:
    """Choose the carrier by the policy's rules and say why (event ``shipment.carrier_chosen``)."""
    session, now = uow.session, uow.clock.now()
    choice, facts = choose(session, shipment, uow.policy)
    rec = shipping_record(session, shipment)
    shipment.carrier = choice.carrier
    rec.carrier_rule, rec.carrier_reason, rec.carrier_overridden = choice.rule, choice.reason, False
    chargeable = reweigh(session, shipment, uow.policy)
    record(
        session, at=now, actor=actor, entity="shipment", entity_id=shipment.id, order_id=shipment.order_id,
        name="shipment.carrier_chosen", reason=choice.reason,
        data={
            "shipment": shipment.number, "carrier": choice.carrier, "rule": choice.rule,
            "facts": {"service_type": facts.service_type, "weight_g": facts.weight_g,
                      "traits": sorted(facts.traits), "categories": sorted(facts.categories)},
            "chargeable_weight_g": chargeable,
        },
    )


def after_hand_over(uow: UnitOfWork, shipment: Shipment, *, actor: str, tracking_number: str | None) -> None:
    """Book with the carrier (the shipment number is the idempotency key, and a shipment booked once
    is not booked again) and keep the tracking number it gives (or the one typed, for manual carriers)
    and the service it was booked with."""
    session, now = uow.session, uow.clock.now()
    rec = shipping_record(session, shipment)
    if rec.booked_carrier == shipment.carrier and shipment.tracking_number:
        return
    if tracking_number:
        refuse_taken_number(session, shipment, tracking_number)
    order = session.get_one(Order, shipment.order_id)
    adapter = uow.carriers.get(str(shipment.carrier))
    parcels = parcels_of(session, shipment.id)
    request = BookingRequest(
        shipment=shipment.number, service_type=order.service_type, weight_g=reweigh(session, shipment, uow.policy),
        parcels=len(parcels), destination_country=order.country, destination_postcode=order.postcode,
    )
    if tracking_number and "tracking_number" in inspect.signature(adapter.book).parameters:
        booking = adapter.book(request, tracking_number=tracking_number)  # type: ignore[call-arg]
    else:
        booking = adapter.book(request)
    take_number(session, shipment, booking.tracking_number)
    rec.booked_carrier, rec.booked_service, rec.booked_at = booking.carrier, booking.service or order.service_type, now
    rec.booked_placeholder = booking.placeholder
    record(
        session, at=now, actor=actor, entity="shipment", entity_id=shipment.id, order_id=shipment.order_id,
        name="shipment.booked",
        data={"shipment": shipment.number, "carrier": booking.carrier, "service": rec.booked_service,
              "tracking_number": booking.tracking_number},
    )


def refuse_taken_number(session: Session, shipment: Shipment, tracking_number: str) -> None:
    """A tracking number identifies one parcel: one another shipment has already is refused (422)."""
    other = session.scalar(select(Shipment.number).where(Shipment.tracking_number == tracking_number,
                                                         Shipment.id != shipment.id).limit(1))
    if other is not None:
        raise ValidationFailed([Problem("shipment", "tracking_number_taken",
                                        {"path": "shipment", "value": tracking_number, "other": other})])


def take_number(session: Session, shipment: Shipment, tracking_number: str) -> None:
    """Give the shipment this tracking number, written at once. Two commands that both found it free
    (``refuse_taken_number``) before either committed meet on the unique index of
    ``shipments.tracking_number``: the second waits for the first and is then refused like a number
    taken before (422, naming the shipment that has it)."""
    session.flush()  # what is pending goes in first: only the number is in the savepoint
    try:
        with session.begin_nested():
            shipment.tracking_number = tracking_number
            session.flush()
    except IntegrityError as error:
        if "tracking_number" not in str(error.orig):
            raise
        with session.no_autoflush:
            refuse_taken_number(session, shipment, tracking_number)
        raise


def keep_booking(uow: UnitOfWork, shipment: Shipment, asked: CarrierValues, *, override_reason: str | None,
                 actor: str) -> CarrierValues:
    """The carrier values a ``ship`` request leaves on the shipment (what it does not name stays as
    booked). One that names other values than the booking is refused (409 naming the booking) unless
    it overrides the booking with a reason: then they replace it and ``shipment.booking_overridden``
    records both and the reason. A number a manual carrier made up and a stand-in carrier's booking
    are replaced without an override. The carrier is kept by its code when the policy knows it."""
    session, policy = uow.session, uow.policy.shipping
    rec = shipping_record(session, shipment)
    booked = CarrierValues(shipment.carrier, rec.booked_service, shipment.tracking_number)
    conflicts = booking_conflicts(Booking(booked, rec.booked_placeholder), asked, policy)
    if conflicts and override_reason is None:
        raise Conflict("booking_conflict", shipment=shipment.number, carrier=booked.carrier,
                       service=booked.service or "-", tracking_number=booked.tracking_number,
                       fields=", ".join(conflicts))
    kept = CarrierValues(carrier_named(asked.carrier, policy.carriers) or booked.carrier,
                         asked.service or booked.service, asked.tracking_number or booked.tracking_number)
    if kept == booked:
        return kept
    if kept.tracking_number != booked.tracking_number:
        refuse_taken_number(session, shipment, str(kept.tracking_number))
    if conflicts:
        record(session, at=uow.clock.now(), actor=actor, entity="shipment", entity_id=shipment.id,
               order_id=shipment.order_id, name="shipment.booking_overridden", reason=override_reason,
               data={"shipment": shipment.number, "fields": list(conflicts), "from": asdict(booked),
                     "to": asdict(kept)})
    shipment.carrier = kept.carrier
    if kept.tracking_number != booked.tracking_number:
        take_number(session, shipment, str(kept.tracking_number))
    rec.booked_carrier, rec.booked_service = kept.carrier, kept.service
    rec.booked_placeholder = rec.booked_placeholder and kept.tracking_number == booked.tracking_number
    return kept


def after_ship(uow: UnitOfWork, shipment: Shipment, *, at: datetime) -> None:
    """The parcel left at ``at`` (now, or the carrier's scan): its last movement (the no-movement
    clock starts with the ship event)."""
    rec = shipping_record(uow.session, shipment)
    rec.last_movement_at = at
