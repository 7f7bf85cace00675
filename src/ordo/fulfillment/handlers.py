"""Shipment primitives: create one from a reservation, move it through its lifecycle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ordo.adapters.db import prepared
from ordo.audit.log import record
from ordo.fulfillment.states import SHIPMENT, ShipmentStatus
from ordo.fulfillment.tables import Shipment, ShipmentLine
from ordo.inventory.model import ReservationStatus
from ordo.inventory.tables import Reservation

_SHIPMENTS_OF = select(func.count()).select_from(Shipment).where(Shipment.order_id == bindparam("order_id"))
_SHIPMENT = insert(Shipment).returning(Shipment.id)


def create_shipment(
    session: Session,
    *,
    order_id: int,
    order_number: str,
    warehouse_id: int,
    lines: Mapping[int, tuple[int, int]],
    actor: str,
    at: datetime,
    reason: str,
    sequence: int | None = None,
) -> Shipment:
    """A shipment for ``lines`` (order line id → (sku id, quantity)) already reserved in the
    warehouse; ``sequence``: its number among the order's shipments, when the caller knows it.

    The rows go in with plain INSERTs and the new rows join the session as if read back, instead of
    a flush: a flush here would also write everything else the command has pending (its events and
    clocks, the order's new status), which would then be written a second time at commit."""
    connection = prepared.connection(session)
    if sequence is None:
        count = prepared.execute(connection, _SHIPMENTS_OF, {"order_id": order_id}).scalar()
        sequence = (count or 0) + 1
    values: dict[str, Any] = {
        "number": f"{order_number}-{sequence}", "order_id": order_id, "warehouse_id": warehouse_id,
        "status": ShipmentStatus.ALLOCATED, "carrier": None, "tracking_number": None, "version": 1,
        "created_at": at, "updated_at": at,
    }
    shipment_id = prepared.execute(connection, _SHIPMENT, values).scalar_one()
    rows = [{"shipment_id": shipment_id, "order_line_id": ol, "sku_id": sku, "quantity": q}
            for ol, (sku, q) in lines.items()]
    line_ids = dict(prepared.insert_rows(connection, ShipmentLine.__table__, rows,
                                         returning=("order_line_id", "id")))
    shipment = prepared.loaded(session, Shipment, {"id": shipment_id, **values})
    set_committed_value(shipment, "lines", [
        prepared.loaded(session, ShipmentLine, {"id": line_ids[row["order_line_id"]], **row}) for row in rows])
    prepared.insert_rows(connection, Reservation.__table__, [
        {"order_id": order_id, "shipment_id": shipment_id, "warehouse_id": warehouse_id, "sku_id": sku_id,
         "quantity": quantity, "status": ReservationStatus.OPEN, "created_at": at}
        for sku_id, quantity in sorted((sku, q) for sku, q in lines.values())
    ])
    record(
        session, at=at, actor=actor, entity="shipment", entity_id=shipment_id, order_id=order_id,
        name="shipment.created", to_state=shipment.status, reason=reason,
        data={"shipment": shipment.number, "warehouse_id": warehouse_id},
    )
    return shipment


# What a step must satisfy before it may happen (every item scanned, a second person checking,
# packing confirmed, …). Each guard raises a domain error naming what is missing; the package that
# owns the step registers it (``@guard(ShipmentTrigger.FINISH_PICK)``), so every path that moves a
# shipment — order actions, scans, tracking — passes the same checks.
Guard = Callable[[Session, Shipment, str], None]
GUARDS: dict[str, list[Guard]] = defaultdict(list)


def guard(trigger: str) -> Callable[[Guard], Guard]:
    def register(check: Guard) -> Guard:
        if check not in GUARDS[trigger]:
            GUARDS[trigger].append(check)
        return check

    return register


def fire(
    session: Session,
    shipment: Shipment,
    trigger: str,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    before = shipment.status
    SHIPMENT.fire(before, trigger)  # an illegal step is refused before any guard is asked
    for check in GUARDS.get(trigger, ()):
        check(session, shipment, actor)
    shipment.status = SHIPMENT.fire(before, trigger)
    shipment.updated_at = at
    record(
        session, at=at, actor=actor, entity="shipment", entity_id=shipment.id, order_id=shipment.order_id,
        name=f"shipment.{trigger}", from_state=before, to_state=shipment.status, reason=reason,
        data={"shipment": shipment.number, **(data or {})},
    )
