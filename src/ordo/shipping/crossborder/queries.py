"""Read side of the legs: the planned legs of a shipment with what has been recorded for each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor
from ordo.catalog.tables import Sku
from ordo.fulfillment.tables import Shipment
from ordo.policy import Leg, Policy
from ordo.shipping.crossborder import rules
from ordo.shipping.crossborder.handlers import load_shipment, plan_of
from ordo.shipping.crossborder.rules import LegStatus
from ordo.shipping.crossborder.schemas import DeclarationLineRead, LegRead, ShipmentLegsRead
from ordo.shipping.crossborder.tables import ShipmentLeg


def legs_of(plan: Sequence[Leg], rows: Sequence[ShipmentLeg]) -> list[LegRead]:
    """Every planned leg in order (a leg with no row is pending); the next one carries its actions."""
    by_leg = {Leg(r.leg): r for r in rows}
    following = rules.next_leg(plan, {k: LegStatus(r.status) for k, r in by_leg.items()})
    out = []
    for leg in plan:
        row = by_leg.get(leg)
        actions = [a.value for a in rules.ACTIONS[leg]] if leg == following else []
        if row is None:
            out.append(LegRead(leg=leg, status=LegStatus.PENDING, started_at=None, completed_at=None, reference=None,
                               data={}, actor=None, actions=actions))
        else:
            out.append(LegRead(leg=leg, status=row.status, started_at=row.started_at, completed_at=row.completed_at,
                               reference=row.reference, data=row.data, actor=row.actor, actions=actions))
    return out


def legs_by_shipment(session: Session, policy: Policy, service_type: str, shipment_ids: Sequence[int]) -> dict[
    int, list[LegRead]
]:
    """For the order detail: the legs of each of the order's shipments, in one query."""
    plan = plan_of(policy, service_type)
    if not plan or not shipment_ids:
        return {i: [] for i in shipment_ids}
    rows = session.scalars(
        select(ShipmentLeg).where(ShipmentLeg.shipment_id.in_(sorted(shipment_ids))).order_by(ShipmentLeg.id)
    ).all()
    return {i: legs_of(plan, [r for r in rows if r.shipment_id == i]) for i in shipment_ids}


def shipment_legs(session: Session, policy: Policy, number: str, actor: Actor) -> ShipmentLegsRead:
    order, shipment = load_shipment(session, number, actor)
    plan = plan_of(policy, order.service_type)
    rows = session.scalars(select(ShipmentLeg).where(ShipmentLeg.shipment_id == shipment.id)).all()
    legs = legs_of(plan, rows)
    return ShipmentLegsRead(
        shipment=shipment.number, order=order.number, service_type=order.service_type, status=shipment.status,
        next_leg=rules.next_leg(plan, {Leg(r.leg): LegStatus(r.status) for r in rows}),
        legs=legs, declaration_lines=_declaration_preview(session, shipment) if Leg.EXPORT_DECLARATION in plan else [],
    )


def _declaration_preview(session: Session, shipment: Shipment) -> list[DeclarationLineRead]:
    ids = sorted({ln.sku_id for ln in shipment.lines})
    skus = {s.id: s for s in session.scalars(select(Sku).where(Sku.id.in_(ids)))}
    return [
        DeclarationLineRead(
            index=i, sku=skus[ln.sku_id].code, quantity=ln.quantity, hs_code=skus[ln.sku_id].hs_code,
            declared_value=skus[ln.sku_id].declared_value, currency=skus[ln.sku_id].currency,
            origin_country=skus[ln.sku_id].origin_country,
        )
        for i, ln in enumerate(shipment.lines)
    ]
