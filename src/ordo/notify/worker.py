"""Outbox delivery: claim due messages, deliver them at least once, retry with exponential
backoff, dead-letter after ``max_attempts``.

A claim is a conditional update (``status`` and ``available_at`` unchanged since read) in a short
transaction of its own; on PostgreSQL the candidate rows are read ``FOR UPDATE SKIP LOCKED`` so
that several workers take different messages. A claimed message is leased: if its worker dies, it
becomes due again when the lease ends. Delivery happens outside any transaction; the outcome is
written in another short one. Receivers drop duplicates by the message key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ordo.adapters.messaging.base import Channel, DeliveryFailed, OutgoingMessage
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.notify.tables import OutboxMessage
from ordo.policy import NotifyPolicy


class Status:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


def backoff(attempts: int, policy: NotifyPolicy) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2×base, 4×base, … capped at ``backoff_max``."""
    return min(policy.backoff_base * (2 ** max(attempts - 1, 0)), policy.backoff_max)


def route(*, key: str, topic: str, audience: str, payload: Mapping[str, Any], at: datetime,
          policy: NotifyPolicy) -> OutgoingMessage:
    """Customer notices carry their channel and text; staff messages go by e-mail to the audience's address."""
    if "channel" in payload and "to" in payload:
        return OutgoingMessage(key=key, channel=payload["channel"], to=payload["to"],
                               subject=payload.get("subject", topic), body=payload.get("body", ""), topic=topic,
                               at=at, payload=dict(payload))
    to = policy.staff_routes.get(audience, policy.staff_email)
    body = json.dumps(dict(payload), ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return OutgoingMessage(key=key, channel="email", to=to, subject=f"[ordo {audience}] {topic}", body=body,
                           topic=topic, at=at, payload=dict(payload))


@dataclass(frozen=True)
class Claimed:
    id: int
    message: OutgoingMessage
    attempts: int


@dataclass
class RunResult:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


def claim(uow: UnitOfWork, *, limit: int | None = None) -> list[Claimed]:
    session, policy, now = uow.session, uow.policy.notify, uow.clock.now()
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_([Status.PENDING, Status.SENDING]), OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit or policy.claim_batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    claimed: list[Claimed] = []
    for row in session.scalars(statement).all():
        won = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status,
                   OutboxMessage.available_at == row.available_at)
            .values(status=Status.SENDING, attempts=OutboxMessage.attempts + 1, available_at=now + policy.lease)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won == 1:
            message = route(key=row.key, topic=row.topic, audience=row.audience, payload=row.payload,
                            at=row.created_at, policy=policy)
            claimed.append(Claimed(id=row.id, message=message, attempts=row.attempts + 1))
    return claimed


def report(uow: UnitOfWork, *, claimed: Claimed, error: str | None) -> str:
    """Write the outcome of one attempt; returns the message's new status."""
    policy, now = uow.policy.notify, uow.clock.now()
    if error is None:
        values: dict[str, Any] = {"status": Status.SENT, "sent_at": now, "last_error": None}
    elif claimed.attempts >= policy.max_attempts:
        values = {"status": Status.DEAD, "last_error": error[:1000]}
    else:
        values = {"status": Status.PENDING, "available_at": now + backoff(claimed.attempts, policy),
                  "last_error": error[:1000]}
    uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == Status.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return str(values["status"])


def deliver_due(ordo: Ordo, channels: Mapping[str, Channel], *, limit: int | None = None) -> RunResult:
    """One round: claim, send each outside a transaction, record each outcome."""
    batch = ordo.run(claim, limit=limit)
    result = RunResult()
    for item in batch:
        channel = channels.get(item.message.channel)
        error: str | None = None
        if channel is None:
            error = f"no channel {item.message.channel!r} configured"
        else:
            try:
                channel.send(item.message)
            except DeliveryFailed as exc:
                error = str(exc)
            except Exception as exc:
                # A bug or an unexpected error in a channel must not abort the round and leave the
                # rest of the batch in "sending": it counts as a failed attempt (backoff, dead letter).
                error = f"{type(exc).__name__}: {exc}"
        status = ordo.run(report, claimed=item, error=error)
        {Status.SENT: result.sent, Status.DEAD: result.dead}.get(status, result.retried).append(item.id)
    return result
