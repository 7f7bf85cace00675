"""Writing to the event log: always in the caller's transaction, never updated afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.audit.tables import Event

# Called with the session and each new event, inside the command's transaction (SLA clocks,
# customer notices). Registered by the composition root (bootstrap), never at import of a module.
Observer = Callable[[Session, Event], None]
observers: list[Observer] = []


def observe(observer: Observer) -> None:
    if observer not in observers:
        observers.append(observer)


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: int,
    name: str,
    order_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    event = prepared.pending(session, Event, {
        "order_id": order_id, "entity": entity, "entity_id": entity_id, "name": name, "from_state": from_state,
        "to_state": to_state, "actor": actor, "reason": reason, "data": data or {}, "created_at": at,
    })
    for observer in observers:
        observer(session, event)
    return event
