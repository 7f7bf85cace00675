"""Writing to the outbox. Delivery (e-mail, SMS, webhooks, retries, dead letters) belongs to the
notifications issue; until then messages wait in the table, visible to operators."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
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
) -> OutboxMessage | None:
    """Queue a message in the caller's transaction. ``key`` must identify the fact being reported
    (e.g. ``order.backordered:20260315001``) so that a receiver can drop a second delivery. Inside
    ``batched`` the row is written with the batch's others when it ends (and None is returned)."""
    row = {"topic": topic, "key": key, "audience": audience, "payload": payload, "order_id": order_id,
           "status": "pending", "attempts": 0, "available_at": at, "created_at": at}
    pending: list[dict[str, Any]] | None = session.info.get(_BATCH)
    if pending is not None:
        pending.append(row)
        return None
    return prepared.pending(session, OutboxMessage, row)


_BATCH = "ordo.notify.outbox_batch"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Messages queued inside are written in one multi-row INSERT when the block ends, still in the
    caller's transaction — for commands that queue hundreds at once (the breach scan)."""
    if session.info.get(_BATCH) is not None:  # already batching: the outer block writes them
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[_BATCH] = pending
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    if pending:
        session.execute(insert(OutboxMessage), pending)
