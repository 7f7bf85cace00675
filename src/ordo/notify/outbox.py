"""Writing to the outbox. Delivery (e-mail, SMS, webhooks, retries, dead letters) belongs to the
notifications issue; until then messages wait in the table, visible to operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ordo.notify.tables import OutboxMessage


def enqueue(
    session: Session,
    *,
    topic: str,
    key: str,
    audience: str,
    payload: dict[str, Any],
    at: datetime,
    order_id: int | None = None,
) -> OutboxMessage:
    """Queue a message in the caller's transaction. ``key`` must identify the fact being reported
    (e.g. ``order.backordered:20260315001``) so that a receiver can drop a second delivery."""
    message = OutboxMessage(
        topic=topic, key=key, audience=audience, payload=payload, order_id=order_id, status="pending",
        attempts=0, available_at=at, created_at=at,
    )
    session.add(message)
    return message
