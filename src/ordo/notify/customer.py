"""Customer notices: a customer-visible event queues a message per contact channel and one per
webhook subscriber that wants it, in the command's transaction, through the event-log hook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.tables import Event
from ordo.fulfillment.tables import Shipment
from ordo.notify.outbox import enqueue
from ordo.notify.tables import OutboxMessage
from ordo.notify.templates import render
from ordo.order.tables import Order
from ordo.policy import Policy

_DEFAULT_POLICY = Policy()
# session.info key: the outbox keys already present for the orders a batch command is about to
# notify (read by it in one query), so each notice needs no look-up of its own.
KNOWN_NOTICE_KEYS = "ordo.notify.known_notice_keys"
# session.info key: order id → the notice keys queued so far, for orders created in this session
# (they had no notices before it, so their look-up needs no query). Any rollback (a savepoint too)
# may have taken queued rows with it: it forgets this, and the look-ups query again.
_FRESH = "ordo.notify.fresh_orders"


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_fresh(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_FRESH, None)


def known_notice_keys(session: Session, order_ids: list[int], template: str) -> set[str]:
    """The customer-notice keys already in the outbox for these orders and this template."""
    if not order_ids:
        return set()
    return set(session.scalars(
        select(OutboxMessage.key).where(OutboxMessage.order_id.in_(order_ids),
                                        OutboxMessage.topic == f"customer.{template}")))


def language_of(order: Order, policy: Policy) -> str:
    """Customers at home read the default language (zh-CN), everyone else English."""
    return policy.notify.default_language if order.country == policy.intake.home_country else "en"


def on_event(session: Session, event: Event) -> None:
    if event.name == "order.created" and event.order_id is not None:
        session.info.setdefault(_FRESH, {})[event.order_id] = set()
    policy: Policy = session.info.get("policy", _DEFAULT_POLICY)
    template = policy.notify.customer_events.get(event.name)
    if template is None or event.order_id is None:
        return
    order = session.get(Order, event.order_id)
    if order is None:
        return
    notify(session, policy, order, template, event, event.created_at)


def notify(session: Session, policy: Policy, order: Order, template: str, event: Event | None, at: datetime) -> None:
    params: dict[str, object] = {"order": order.number, "currency": order.currency, "amount": order.total}
    subject_of = order.number
    if event is not None and event.entity == "shipment":
        shipment = session.get(Shipment, event.entity_id)
        if shipment is not None:
            params |= {"carrier": shipment.carrier, "tracking": shipment.tracking_number}
            subject_of = shipment.number
    if event is not None and event.data:
        params |= {k: v for k, v in event.data.items() if k in ("carrier", "tracking", "amount")}
    if "carrier" in params:
        params["carrier"] = policy.shipping.carrier_name(params["carrier"])  # type: ignore[arg-type]
    language = language_of(order, policy)
    text = render(template, language, params)
    # (channel, address, key suffix, subscriber)
    targets: list[tuple[str, str | None, str, str | None]] = [
        ("email", order.email, "email", None), ("sms", order.phone, "sms", None)]
    event_name = event.name if event is not None else None
    targets += [("webhook", sub.url, f"webhook:{sub.name}", sub.name)
                for sub in policy.notify.webhooks if sub.wants(event_name, template)]
    keys = {suffix: f"notice:{template}:{subject_of}:{suffix}" for channel, to, suffix, _ in targets if to}
    # The same fact reported before (a second delivery attempt of the step) is not sent again: one
    # look-up for all of this notice's channels.
    known: set[str] | None = session.info.get(KNOWN_NOTICE_KEYS)
    if known is None:
        known = session.info.get(_FRESH, {}).get(order.id)
    if known is not None:  # a batch (the breach scan) has read every key its notices could have
        sent = known & set(keys.values())
        known.update(keys.values())
    else:
        sent = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(list(keys.values())))))
    for channel, to, suffix, subscriber in targets:
        if not to or keys[suffix] in sent:
            continue
        key = keys[suffix]
        payload: dict[str, object] = {
            "channel": channel, "to": to, "language": language, "template": template,
            "subject": text.subject, "body": text.body, "order": order.number, "event": event_name,
            "params": {k: str(v) for k, v in params.items()}}
        if subscriber is not None:
            payload["subscriber"] = subscriber
        enqueue(
            session, topic=f"customer.{template}", key=key,
            audience="webhook" if channel == "webhook" else "customer", at=at, order_id=order.id,
            payload=payload,
        )
