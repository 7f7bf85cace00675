"""Read side of the warehouse floor: pick lists as plain values (the API, the CLI and the printed pick
list read the same thing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.catalog.tables import Sku
from ordo.fulfillment.tables import PickList, PickListShipment, PickListStop, Shipment
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import NotFound


class PickStopView(NamedTuple):
    seq: int
    bin: str
    sku: str  # SKU code
    sku_name: str
    quantity: int
    shipment: str  # shipment number


@dataclass(frozen=True)
class PickListView:
    number: str
    warehouse: str  # warehouse code
    picker: str | None
    route_length_m: float
    created_at: datetime
    stops: list[PickStopView]  # in route order
    status: str = "open"
    items: int = 0
    route_method: str = "optimal"
    shipments: tuple[str, ...] = ()
    claimed_at: datetime | None = None


def pick_list_view(session: Session, number: str) -> PickListView:
    """One pick list with its stops in route order; ``NotFound`` if there is none."""
    row = session.execute(
        select(PickList, Warehouse.code).join(Warehouse, Warehouse.id == PickList.warehouse_id)
        .where(PickList.number == number)
    ).one_or_none()
    if row is None:
        raise NotFound("pick list", number)
    pick_list, warehouse = row
    stops = [
        PickStopView(seq, bin_code, code, name, quantity, shipment)
        for seq, bin_code, code, name, quantity, shipment in session.execute(
            select(PickListStop.seq, PickListStop.bin, Sku.code, Sku.name, PickListStop.quantity, Shipment.number)
            .join(Sku, Sku.id == PickListStop.sku_id)
            .join(Shipment, Shipment.id == PickListStop.shipment_id)
            .where(PickListStop.pick_list_id == pick_list.id)
            .order_by(PickListStop.seq)
        )
    ]
    return PickListView(
        number=pick_list.number, warehouse=warehouse, picker=pick_list.picker,
        route_length_m=pick_list.route_length_m, created_at=pick_list.created_at, stops=stops,
        status=pick_list.status, items=pick_list.items, route_method=pick_list.route_method,
        shipments=shipments_of(session, pick_list.id), claimed_at=pick_list.claimed_at,
    )


def shipments_of(session: Session, pick_list_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(
        select(Shipment.number).join(PickListShipment, PickListShipment.shipment_id == Shipment.id)
        .where(PickListShipment.pick_list_id == pick_list_id).order_by(PickListShipment.id)
    ))
