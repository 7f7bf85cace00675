"""Recording a cross-border leg: one command, one transaction. The pure rules decide the order of
the legs and check the declaration; the shipment moves only through the order's
``advance_shipments`` (so its guards run and the order follows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.handlers import guard
from ordo.fulfillment.states import SHIPMENT, ShipmentStatus, ShipmentTrigger
from ordo.fulfillment.tables import Shipment
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import Conflict, NotFound, Problem, ValidationFailed
from ordo.notify.outbox import enqueue
from ordo.order import handlers as orders
from ordo.order.lifecycle import load_order
from ordo.order.tables import Order
from ordo.policy import Leg, Policy
from ordo.shipping.crossborder import rules
from ordo.shipping.crossborder.rules import LegAction, LegStatus
from ordo.shipping.crossborder.schemas import LegActionIn
from ordo.shipping.crossborder.tables import ShipmentLeg


def plan_of(policy: Policy, service_type: str) -> tuple[Leg, ...]:
    service = policy.intake.service_types.get(service_type)
    return service.legs if service is not None else ()


def load_shipment(session: Session, number: str, actor: Actor, *, for_update: bool = False) -> tuple[Order, Shipment]:
    """The shipment and its order if the actor may see both (else "not found"). Writing locks the
    order row first, as every order command does, so two leg commands on one shipment queue up."""
    order_number = session.scalar(
        select(Order.number).join(Shipment, Shipment.order_id == Order.id).where(Shipment.number == number)
    )
    if order_number is None:
        raise NotFound("shipment", number)
    order = load_order(session, order_number, actor, for_update=for_update)
    shipment = session.scalars(select(Shipment).where(Shipment.number == number)).one()
    if actor.warehouses:
        code = session.scalar(select(Warehouse.code).where(Warehouse.id == shipment.warehouse_id))
        if code not in actor.warehouses:
            raise NotFound("shipment", number)
    return order, shipment


def rows_of(session: Session, shipment_id: int) -> dict[Leg, ShipmentLeg]:
    rows = session.scalars(select(ShipmentLeg).where(ShipmentLeg.shipment_id == shipment_id)).all()
    return {Leg(r.leg): r for r in rows}


def record_leg(uow: UnitOfWork, *, shipment: str, leg: str, body: LegActionIn, actor: Actor) -> Shipment:
    """Record ``body.action`` on one leg of the shipment: in order (409 naming the leg expected),
    with the fields it needs (422 per field), firing the shipment step the leg stands for."""
    actor.require(Permission.SHIPMENT_LEGS)
    kind = _leg(leg)
    session, now = uow.session, uow.clock.now()
    order, target = load_shipment(session, shipment, actor, for_update=True)
    if body.action not in rules.ACTIONS[kind]:
        allowed = ", ".join(rules.ACTIONS[kind])
        raise ValidationFailed([Problem("action", "one_of", {"path": "action", "value": body.action,
                                                             "allowed": allowed})])
    action = LegAction(body.action)
    plan = plan_of(uow.policy, order.service_type)
    rows = rows_of(session, target.id)
    rules.check_sequence(plan, {k: LegStatus(r.status) for k, r in rows.items()}, kind,
                         service_type=order.service_type)
    values = body.model_dump()
    transport = rows.get(Leg.INTERNATIONAL_TRANSPORT)
    problems = rules.missing_fields(action, values) + rules.check_times(
        values, now, departed=transport.started_at if action == LegAction.ARRIVE and transport else None
    )
    if problems:
        raise ValidationFailed(problems)
    states = rules.RECORDABLE_IN.get(kind) or ((ShipmentStatus.IN_CUSTOMS,) if action == LegAction.HOLD else ())
    if states and target.status not in states:
        raise Conflict("leg_shipment_state", shipment=target.number, state=target.status, leg=kind,
                       states=", ".join(states))
    step = _Step(uow, order, target, kind, action, body, actor, rows)
    {
        LegAction.BOOK: step.book,
        LegAction.DECLARE: step.declare,
        LegAction.DEPART: step.depart,
        LegAction.ARRIVE: step.arrive,
        LegAction.CLEAR: step.clear,
        LegAction.HOLD: step.hold,
        LegAction.HAND_OVER: step.hand_over,
    }[action]()
    return target


def _leg(name: str) -> Leg:
    if name not in set(Leg):
        raise ValidationFailed([Problem("leg", "one_of", {"path": "leg", "value": name, "allowed": ", ".join(Leg)})])
    return Leg(name)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


class _Step:
    """One leg command's context; each method is one action."""

    def __init__(
        self, uow: UnitOfWork, order: Order, shipment: Shipment, leg: Leg, action: LegAction, body: LegActionIn,
        actor: Actor, rows: dict[Leg, ShipmentLeg],
    ) -> None:
        self.uow, self.order, self.shipment, self.leg, self.action = uow, order, shipment, leg, action
        self.body, self.actor, self.rows = body, actor, rows
        self.now = uow.clock.now()

    # --- the actions ---

    def book(self) -> None:
        b = self.body
        self._save(self.leg, LegStatus.COMPLETED, started=self.now, completed=self.now, reference=b.reference,
                   data={"carrier": b.carrier, "requested_date": b.requested_date.isoformat() if b.requested_date
                         else None})
        self._log()

    def declare(self) -> None:
        fire = self._check_step(ShipmentTrigger.DECLARE_EXPORT)
        session = self.uow.session
        skus = {s.id: s for s in session.scalars(
            select(Sku).where(Sku.id.in_(sorted({ln.sku_id for ln in self.shipment.lines})))
        )}
        sources = [
            rules.DeclarationSource(
                sku=skus[ln.sku_id].code, quantity=ln.quantity, hs_code=skus[ln.sku_id].hs_code,
                declared_value=skus[ln.sku_id].declared_value, currency=skus[ln.sku_id].currency,
                origin_country=skus[ln.sku_id].origin_country,
            )
            for ln in self.shipment.lines
        ]
        overrides = [line.model_dump() if line is not None else None for line in self.body.lines]
        lines = rules.declaration_lines(sources, overrides, currencies=self.uow.policy.intake.currencies)
        self._save(self.leg, LegStatus.COMPLETED, started=self.now, completed=self.now,
                   reference=self.body.reference, data={"lines": lines})
        self._log()
        self._fire(fire, ShipmentTrigger.DECLARE_EXPORT)

    def depart(self) -> None:
        departed = self.body.departed_at or self.now
        self._save(self.leg, LegStatus.IN_PROGRESS, started=departed, completed=None, reference=self.body.reference,
                   data={})
        self._log()

    def arrive(self) -> None:
        fire = self._check_step(ShipmentTrigger.ENTER_CUSTOMS)
        arrived = self.body.arrived_at or self.now
        transport = self.rows.get(Leg.INTERNATIONAL_TRANSPORT)
        if transport is not None:
            transport.status, transport.completed_at, transport.updated_at = LegStatus.COMPLETED, arrived, self.now
        self._save(self.leg, LegStatus.COMPLETED, started=arrived, completed=arrived, reference=self.body.reference,
                   data={})
        # Customs starts when the goods arrive: its clock (48 h) runs from here.
        if Leg.CUSTOMS_CLEARANCE in plan_of(self.uow.policy, self.order.service_type):
            self._save(Leg.CUSTOMS_CLEARANCE, LegStatus.IN_PROGRESS, started=arrived, completed=None, reference=None,
                       data={"holds": []})
        self._log()
        self._fire(fire, ShipmentTrigger.ENTER_CUSTOMS)

    def clear(self) -> None:
        fire = self._check_step(ShipmentTrigger.CLEAR_CUSTOMS)
        row = self.rows.get(self.leg)
        before = row.data.get("holds", []) if row is not None else []
        resolves = [h["reason"] for h in before if not h.get("resolved_at")]
        holds = [{**h, "resolved_at": h.get("resolved_at") or self.now.isoformat()} for h in before]
        self._save(self.leg, LegStatus.COMPLETED, started=row.started_at if row else self.now, completed=self.now,
                   reference=self.body.reference, data={"outcome": "cleared", "holds": holds})
        self._log(extra={"resolves": resolves})
        self._fire(fire, ShipmentTrigger.CLEAR_CUSTOMS)

    def hold(self) -> None:
        row = self.rows.get(self.leg)
        reason = str(self.body.reason)
        holds = [*(row.data.get("holds", []) if row is not None else []),
                 {"reason": reason, "at": self.now.isoformat(), "resolved_at": None}]
        self._save(self.leg, LegStatus.HELD, started=row.started_at if row else self.now, completed=None,
                   reference=self.body.reference or (row.reference if row else None),
                   data={"outcome": "held", "holds": holds})
        # An exception: the event names it, and logistics staff are alerted through the outbox.
        record(
            self.uow.session, at=self.now, actor=self.actor.name, entity="shipment", entity_id=self.shipment.id,
            order_id=self.order.id, name="shipment.customs_held", from_state=self.shipment.status,
            to_state=self.shipment.status, reason=reason,
            data={"shipment": self.shipment.number, "leg": self.leg, "action": self.action, "hold": len(holds)},
        )
        enqueue(
            self.uow.session, topic="shipment.customs_held",
            key=f"shipment.customs_held:{self.shipment.number}:{len(holds)}",
            audience=self.uow.policy.shipping.customs_held_audience, at=self.now, order_id=self.order.id,
            payload={"order": self.order.number, "shipment": self.shipment.number, "reason": reason,
                     "held_at": self.now.isoformat()},
        )

    def hand_over(self) -> None:
        b = self.body
        # Straight from an (overseas) warehouse: the local carrier takes the parcel there, which
        # ships it (stock leaves the warehouse) before it goes out for delivery.
        ship_first = self.shipment.status == ShipmentStatus.HANDED_OVER
        fire = ship_first or self._check_step(ShipmentTrigger.OUT_FOR_DELIVERY)
        self._save(self.leg, LegStatus.COMPLETED, started=self.now, completed=self.now, reference=b.tracking_number,
                   data={"carrier": b.carrier, "tracking_number": b.tracking_number})
        self._log()
        if ship_first:
            orders.advance_shipments(self.uow, number=self.order.number, trigger=ShipmentTrigger.SHIP,
                                     actor=self.actor, shipment=self.shipment.number, carrier=b.carrier,
                                     tracking_number=b.tracking_number, note=b.note)
        self._fire(fire, ShipmentTrigger.OUT_FOR_DELIVERY)

    # --- shared ---

    def _check_step(self, trigger: ShipmentTrigger) -> bool:
        """Whether the leg must move the shipment: not when tracking already reported the step;
        refused (409) before anything is written when the shipment cannot take it."""
        if rules.already_reached(self.shipment.status, trigger):
            return False
        SHIPMENT.fire(self.shipment.status, trigger)
        return True

    def _fire(self, needed: bool, trigger: ShipmentTrigger) -> None:
        if needed:
            orders.advance_shipments(self.uow, number=self.order.number, trigger=trigger, actor=self.actor,
                                     shipment=self.shipment.number, note=self.body.note)

    def _save(
        self, leg: Leg, status: LegStatus, *, started: datetime | None, completed: datetime | None,
        reference: str | None, data: dict[str, Any],
    ) -> ShipmentLeg:
        row = self.rows.get(leg)
        if row is None:
            row = ShipmentLeg(shipment_id=self.shipment.id, leg=leg, data={})
            self.uow.session.add(row)
            self.rows[leg] = row
        row.status, row.started_at, row.completed_at = status, started, completed
        row.reference, row.actor, row.updated_at = reference, self.actor.name, self.now
        note = {"note": self.body.note} if self.body.note else {}
        row.data = {**data, **note}  # a new dict: JSON columns do not see changes made in place
        return row

    def _log(self, extra: dict[str, Any] | None = None) -> None:
        row = self.rows[self.leg]
        record(
            self.uow.session, at=self.now, actor=self.actor.name, entity="shipment", entity_id=self.shipment.id,
            order_id=self.order.id, name=f"shipment.{self.leg}", reason=self.body.note,
            data={
                "shipment": self.shipment.number, "leg": self.leg, "action": self.action, "status": row.status,
                "started_at": _iso(row.started_at), "completed_at": _iso(row.completed_at),
                "reference": row.reference, **row.data, **(extra or {}),
            },
        )


# --- guards: no other path (tracking import, order actions) skips what the legs stand for ---------


def _plan_of_shipment(session: Session, shipment: Shipment) -> tuple[Leg, ...]:
    policy = session.info.get("policy") or Policy()
    service_type = session.scalar(select(Order.service_type).where(Order.id == shipment.order_id)) or ""
    return plan_of(policy, service_type)


def declaration_recorded(session: Session, shipment: Shipment, actor: str) -> None:
    """An export is declared only with its declaration data (the export_declaration leg)."""
    if Leg.EXPORT_DECLARATION not in _plan_of_shipment(session, shipment):
        return
    status = session.scalar(select(ShipmentLeg.status).where(
        ShipmentLeg.shipment_id == shipment.id, ShipmentLeg.leg == Leg.EXPORT_DECLARATION))
    if status != LegStatus.COMPLETED:
        raise Conflict("export_not_declared", shipment=shipment.number)


def through_customs(session: Session, shipment: Shipment, actor: str) -> None:
    """A shipment whose service type clears customs is not delivered straight from transit."""
    if shipment.status == ShipmentStatus.IN_TRANSIT and Leg.CUSTOMS_CLEARANCE in _plan_of_shipment(session, shipment):
        raise Conflict("customs_not_cleared", shipment=shipment.number)


def register_guards() -> None:
    guard(ShipmentTrigger.DECLARE_EXPORT)(declaration_recorded)
    guard(ShipmentTrigger.OUT_FOR_DELIVERY)(through_customs)
    guard(ShipmentTrigger.DELIVER)(through_customs)
