"""Stalled parcels (POLICIES.md 003: no tracking movement for 24 h → alert).

One timer, one signal: the ``tracking_stalled`` SLA clock, which every movement — a step, a leg, a
carrier scan (``shipment.moved``) — stops and starts again at the movement's time. A shipment is
stalled while that clock is breached; the breach scan marks it once and records it as
``shipment.stalled`` (the clock rule's ``breach_event``), and this observer of the event log tells
the clock's department. The next movement stops the breached clock, so there is no flag of its own
to clear. Registered by ``bootstrap.register_observers``.

The observer only reads and queues a message: the breach scan holds the locks of the clocks it
marks, and a tracking command that has locked the order and the shipping record and waits for such
a clock must not be waited for in turn (a deadlock would abort one of them).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from ordo.audit.tables import Event
from ordo.fulfillment.tables import Shipment
from ordo.notify.outbox import enqueue
from ordo.notify.tables import OutboxMessage
from ordo.order.tables import Order
from ordo.policy import Policy
from ordo.sla.handlers import policy_of, rule_index
from ordo.sla.model import ClockStatus
from ordo.sla.tables import SlaClock

STALLED = "shipment.stalled"


def stalled_clocks(policy: Policy) -> ColumnElement[bool]:
    """The clocks whose breach is a stalled shipment, breached now."""
    steps = sorted(step for step, name in rule_index(policy).breach_events.items() if name == STALLED)
    return (SlaClock.entity == "shipment") & SlaClock.step.in_(steps) & (SlaClock.status == ClockStatus.BREACHED)


def on_event(session: Session, event: Event) -> None:
    if event.name != STALLED or event.entity != "shipment":
        return
    shipment = session.get_one(Shipment, event.entity_id)
    since = event.data["since"]
    key = f"{STALLED}:{shipment.number}:{since}"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return  # told already by the stalled scan of earlier versions, whose key was the same
    payload = {"shipment": shipment.number,
               "order": session.scalar(select(Order.number).where(Order.id == shipment.order_id)),
               "carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "status": shipment.status,
               "last_movement_at": since,
               "limit_hours": policy_of(session).time_limits[event.data["step"]].limit.total_seconds() / 3600}
    enqueue(session, topic=STALLED, key=key, audience=event.data["department"], payload=payload, at=event.created_at,
            order_id=shipment.order_id)
