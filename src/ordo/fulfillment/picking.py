"""Pick lists: released in waves, claimed by one picker, done when their shipments are picked.

Release groups a warehouse's allocated shipments that are on no list yet (``waves.plan_waves``: order
class, carrier cut-off, VIP, age; an item limit per list) and orders each list's stops along the
route through its bins (``layout.route_order``: optimal on a single block). Claiming is a conditional
UPDATE — of two pickers racing for a list exactly one changes the row — and starts picking its
shipments through the order, so the order follows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.audit.tables import Event
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.tables import Sku
from ordo.fulfillment.floor import bin_problem, layout_of
from ordo.fulfillment.layout import route_order
from ordo.fulfillment.queries import PickListView, pick_list_view, shipments_of
from ordo.fulfillment.schemas import PickListPage, PickListRead, PickListSummary, PickReleaseIn, PickStopRead
from ordo.fulfillment.states import ShipmentStatus, ShipmentTrigger
from ordo.fulfillment.tables import PickList, PickListShipment, PickListStop, Shipment, ShipmentLine
from ordo.fulfillment.waves import WaveCandidate, plan_waves
from ordo.inventory.tables import Stock, Warehouse
from ordo.kernel.checks import MAX_PAGE, Checks
from ordo.kernel.errors import Conflict, Forbidden, NotFound
from ordo.order.handlers import advance_shipments
from ordo.order.states import OrderStatus
from ordo.order.tables import Order
from ordo.policy import WarehousePolicy


class PickListStatus:
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"


STATUSES = (PickListStatus.OPEN, PickListStatus.CLAIMED, PickListStatus.DONE)
# Orders whose shipments may be picked (not on hold, not cancelled).
PICKABLE_ORDERS = (OrderStatus.ALLOCATED, OrderStatus.IN_FULFILLMENT)
MAX_LISTED_SKUS = 10


def next_cutoff(now: datetime, at: str, tz: ZoneInfo) -> datetime:
    """The next daily collection at ``HH:MM`` local time, from ``now`` on."""
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour, minute), tz)
    if candidate < local:
        candidate += timedelta(days=1)
    return candidate


def _candidates(session: Session, warehouse: Warehouse, policy: WarehousePolicy, now: datetime,
                tz: ZoneInfo) -> tuple[list[WaveCandidate], dict[str, list[tuple[int, int]]], dict[str, int]]:
    """Wave candidates, each shipment's (SKU id, quantity) lines, and shipment number → id."""
    released = select(PickListShipment.shipment_id)
    rows = session.execute(
        select(Shipment, Order.order_class, Order.vip_level, Order.placed_at)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.warehouse_id == warehouse.id, Shipment.status == ShipmentStatus.ALLOCATED,
               Order.status.in_(PICKABLE_ORDERS), Shipment.id.not_in(released))
        .order_by(Shipment.id)
        .limit(policy.max_release)
    ).all()
    lines: dict[str, list[tuple[int, int]]] = defaultdict(list)
    ids = {shipment.number: shipment.id for shipment, *_ in rows}
    if ids:
        for number, sku_id, quantity in session.execute(
            select(Shipment.number, ShipmentLine.sku_id, ShipmentLine.quantity)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(ShipmentLine.shipment_id.in_(ids.values())).order_by(ShipmentLine.id)
        ):
            lines[number].append((sku_id, quantity))
    candidates = []
    for shipment, order_class, vip_level, placed_at in rows:
        cutoff_at = policy.carrier_cutoffs.get(shipment.carrier or "")
        candidates.append(WaveCandidate(
            shipment=shipment.number, warehouse=warehouse.code, order_class=order_class, vip_level=vip_level,
            carrier=shipment.carrier, cutoff=next_cutoff(now, cutoff_at, tz) if cutoff_at else None,
            items=sum(q for _, q in lines[shipment.number]), created_at=placed_at,
        ))
    return candidates, lines, ids


def release_pick_lists(uow: UnitOfWork, *, body: PickReleaseIn, actor: Actor) -> list[PickListRead]:
    """Pick lists for the warehouse's allocated shipments that are on none yet (none may be released)."""
    actor.require(Permission.SHIPMENT_PICK)
    session, now, policy = uow.session, uow.clock.now(), uow.policy.warehouse
    checks = Checks()
    code = checks.text(body.model_dump(), "warehouse")
    # The warehouse row is locked so that two releases for one warehouse take turns.
    warehouse = (
        session.scalars(select(Warehouse).where(Warehouse.code == code, Warehouse.active.is_(True))
                        .with_for_update()).one_or_none()
        if code else None
    )
    if code and warehouse is None:
        checks.add("warehouse", "warehouse_unknown", value=code)
    checks.raise_any()
    assert warehouse is not None
    if actor.warehouses and warehouse.code not in actor.warehouses:
        raise Forbidden("forbidden", roles=", ".join(sorted(actor.roles)), action=f"release pick lists in {code}")
    tz = ZoneInfo(uow.policy.business_timezone)
    candidates, lines, ids = _candidates(session, warehouse, policy, now, tz)
    if not candidates:
        return []
    layout = layout_of(session, warehouse.id, policy.layout)
    sku_ids = sorted({sku for shipment_lines in lines.values() for sku, _ in shipment_lines})
    bins = dict(session.execute(select(Stock.sku_id, Stock.bin).where(
        Stock.warehouse_id == warehouse.id, Stock.sku_id.in_(sku_ids))).all())
    codes = dict(session.execute(select(Sku.id, Sku.code).where(Sku.id.in_(sku_ids))).all())
    unplaced = sorted(codes[s] for s in sku_ids
                      if not bins.get(s) or bin_problem(layout, warehouse.code, bins[s] or "") is not None)
    if unplaced:
        shown = ", ".join(unplaced[:MAX_LISTED_SKUS]) + (" …" if len(unplaced) > MAX_LISTED_SKUS else "")
        raise Conflict("pick_bin_missing", warehouse=warehouse.code, skus=shown)
    class_rank = {c: i for i, c in enumerate(policy.pick_class_priority)}
    released: list[PickListRead] = []
    for plan in plan_waves(candidates, max_items=policy.max_items_per_pick_list, class_rank=class_rank):
        wanted: dict[tuple[str, int], int] = defaultdict(int)  # (shipment, SKU id) → units
        for number in plan.shipments:
            for sku_id, quantity in lines[number]:
                wanted[(number, sku_id)] += quantity
        route, ordered = route_order(layout, [bins[sku] or "" for _, sku in wanted])
        rank = {b: i for i, b in enumerate(ordered)}
        position = {number: i for i, number in enumerate(plan.shipments)}
        stops = sorted(wanted.items(), key=lambda item: (rank[bins[item[0][1]] or ""], position[item[0][0]],
                                                          codes[item[0][1]]))
        pick_list = PickList(
            number=uuid.uuid4().hex, warehouse_id=warehouse.id, status=PickListStatus.OPEN, items=plan.items,
            route_length_m=route.length_m, route_method=route.method, created_by=actor.name, created_at=now,
        )
        session.add(pick_list)
        session.flush()
        pick_list.number = f"PL{pick_list.id:06d}"
        session.add_all(PickListShipment(pick_list_id=pick_list.id, shipment_id=ids[n]) for n in plan.shipments)
        session.add_all(
            PickListStop(pick_list_id=pick_list.id, seq=seq, bin=bins[sku] or "", sku_id=sku, quantity=quantity,
                         shipment_id=ids[number])
            for seq, ((number, sku), quantity) in enumerate(stops, start=1)
        )
        session.flush()
        record(session, at=now, actor=actor.name, entity="pick_list", entity_id=pick_list.id,
               name="pick_list.released", to_state=PickListStatus.OPEN,
               data={"number": pick_list.number, "warehouse": warehouse.code, "shipments": list(plan.shipments),
                     "items": plan.items, "route_length_m": route.length_m, "route_method": route.method})
        released.append(_read(pick_list_view(session, pick_list.number)))
    return released


def _load(session: Session, number: str, actor: Actor) -> PickList:
    row = session.execute(
        select(PickList, Warehouse.code).join(Warehouse, Warehouse.id == PickList.warehouse_id)
        .where(PickList.number == number)
    ).one_or_none()
    if row is None or (actor.warehouses and row[1] not in actor.warehouses):
        raise NotFound("pick list", number)
    return row[0]


def claim_pick_list(uow: UnitOfWork, *, number: str, actor: Actor) -> PickListRead:
    """The picker takes the list; its shipments start picking (and their orders follow)."""
    actor.require(Permission.SHIPMENT_PICK)
    session, now = uow.session, uow.clock.now()
    pick_list = _load(session, number, actor)
    claimed = session.execute(
        update(PickList)
        .where(PickList.id == pick_list.id, PickList.status == PickListStatus.OPEN)
        .values(status=PickListStatus.CLAIMED, picker=actor.name, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.refresh(pick_list)
        raise Conflict("pick_list_taken", number=number, status=pick_list.status, picker=pick_list.picker or "-")
    session.refresh(pick_list)
    record(session, at=now, actor=actor.name, entity="pick_list", entity_id=pick_list.id, name="pick_list.claimed",
           from_state=PickListStatus.OPEN, to_state=PickListStatus.CLAIMED, data={"number": number})
    rows = session.execute(
        select(Shipment.number, Order.number)
        .join(PickListShipment, PickListShipment.shipment_id == Shipment.id)
        .join(Order, Order.id == Shipment.order_id)
        .where(PickListShipment.pick_list_id == pick_list.id, Shipment.status == ShipmentStatus.ALLOCATED,
               Order.status.in_(PICKABLE_ORDERS))
        .order_by(PickListShipment.id)
    ).all()
    for shipment, order in rows:
        advance_shipments(uow, number=order, trigger=ShipmentTrigger.START_PICK, actor=actor, shipment=shipment,
                          note=f"pick list {number}")
    return _read(pick_list_view(session, number))


def get_pick_list(uow: UnitOfWork, *, number: str, actor: Actor) -> PickListRead:
    actor.require(Permission.ORDER_READ)
    _load(uow.session, number, actor)
    return _read(pick_list_view(uow.session, number))


def list_pick_lists(uow: UnitOfWork, *, actor: Actor, warehouse: str | None = None, status: str | None = None,
                    limit: int = MAX_PAGE) -> PickListPage:
    actor.require(Permission.ORDER_READ)
    checks = Checks()
    if status is not None:
        checks.one_of({"status": status}, "status", STATUSES)
    checks.raise_any()
    statement = select(PickList, Warehouse.code).join(Warehouse, Warehouse.id == PickList.warehouse_id)
    if warehouse:
        statement = statement.where(Warehouse.code == warehouse)
    if actor.warehouses:
        statement = statement.where(Warehouse.code.in_(sorted(actor.warehouses)))
    if status:
        statement = statement.where(PickList.status == status.lower())
    rows = uow.session.execute(statement.order_by(PickList.id).limit(limit)).all()
    return PickListPage(items=[
        PickListSummary(number=p.number, warehouse=code, status=p.status, picker=p.picker, items=p.items,
                        route_length_m=p.route_length_m, route_method=p.route_method,
                        shipments=list(shipments_of(uow.session, p.id)), created_at=p.created_at,
                        claimed_at=p.claimed_at)
        for p, code in rows
    ])


def _read(view: PickListView) -> PickListRead:
    return PickListRead(
        number=view.number, warehouse=view.warehouse, status=view.status, picker=view.picker, items=view.items,
        route_length_m=view.route_length_m, route_method=view.route_method, shipments=list(view.shipments),
        created_at=view.created_at, claimed_at=view.claimed_at,
        stops=[PickStopRead(**stop._asdict()) for stop in view.stops],
    )


# A claimed list is done once none of its shipments is waiting to be picked or being picked.
_ENDS_PICKING = frozenset({f"shipment.{ShipmentTrigger.FINISH_PICK}", f"shipment.{ShipmentTrigger.CANCEL}"})


def follow_shipments(session: Session, event: Event) -> None:
    """Event-log observer (registered by the composition root)."""
    if event.entity != "shipment" or event.name not in _ENDS_PICKING:
        return
    pick_list_id = session.scalar(select(PickListShipment.pick_list_id)
                                  .where(PickListShipment.shipment_id == event.entity_id))
    if pick_list_id is None:
        return
    waiting = session.scalar(
        select(Shipment.id).join(PickListShipment, PickListShipment.shipment_id == Shipment.id)
        .where(PickListShipment.pick_list_id == pick_list_id,
               Shipment.status.in_((ShipmentStatus.ALLOCATED, ShipmentStatus.PICKING)))
        .limit(1)
    )
    if waiting is None:
        session.execute(update(PickList).where(PickList.id == pick_list_id, PickList.status == PickListStatus.CLAIMED)
                        .values(status=PickListStatus.DONE, done_at=event.created_at)
                        .execution_options(synchronize_session=False))
