"""Shipment lifecycle (one shipment per warehouse after a split) and the order roll-up."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ordo.kernel.statemachine import StateMachine


class ShipmentStatus(StrEnum):
    ALLOCATED = "allocated"
    PICKING = "picking"
    PICKED = "picked"
    CHECKED = "checked"
    PACKED = "packed"
    HANDED_OVER = "handed_over"
    IN_TRANSIT = "in_transit"
    EXPORT_DECLARED = "export_declared"
    IN_CUSTOMS = "in_customs"
    CLEARED = "cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    REFUSED = "refused"
    LOST = "lost"
    RETURNED = "returned"
    INTERCEPTED = "intercepted"
    CANCELLED = "cancelled"


class ShipmentTrigger(StrEnum):
    START_PICK = "start_pick"
    FINISH_PICK = "finish_pick"
    CHECK = "check"
    PACK = "pack"
    HAND_OVER = "hand_over"
    SHIP = "ship"
    DECLARE_EXPORT = "declare_export"
    ENTER_CUSTOMS = "enter_customs"
    CLEAR_CUSTOMS = "clear_customs"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVER = "deliver"
    REFUSE = "refuse"
    LOSE = "lose"
    RETURN = "return"
    INTERCEPT = "intercept"
    CANCEL = "cancel"


S, T = ShipmentStatus, ShipmentTrigger

# Before hand-over the warehouse still has the goods: cancelling releases the reservation.
BEFORE_HANDOVER = (S.ALLOCATED, S.PICKING, S.PICKED, S.CHECKED, S.PACKED)
MOVING = (S.IN_TRANSIT, S.EXPORT_DECLARED, S.IN_CUSTOMS, S.CLEARED, S.OUT_FOR_DELIVERY)

SHIPMENT = StateMachine(
    "shipment",
    {
        (S.ALLOCATED, T.START_PICK): S.PICKING,
        (S.PICKING, T.FINISH_PICK): S.PICKED,
        (S.PICKED, T.CHECK): S.CHECKED,
        (S.CHECKED, T.PACK): S.PACKED,
        (S.PACKED, T.HAND_OVER): S.HANDED_OVER,
        (S.HANDED_OVER, T.SHIP): S.IN_TRANSIT,
        (S.IN_TRANSIT, T.DECLARE_EXPORT): S.EXPORT_DECLARED,
        (S.EXPORT_DECLARED, T.ENTER_CUSTOMS): S.IN_CUSTOMS,
        (S.IN_CUSTOMS, T.CLEAR_CUSTOMS): S.CLEARED,
        (S.IN_TRANSIT, T.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
        (S.CLEARED, T.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
        (S.OUT_FOR_DELIVERY, T.DELIVER): S.DELIVERED,
        (S.IN_TRANSIT, T.DELIVER): S.DELIVERED,
        (S.OUT_FOR_DELIVERY, T.REFUSE): S.REFUSED,
        (S.REFUSED, T.RETURN): S.RETURNED,
        **{(state, T.LOSE): S.LOST for state in MOVING},
        **{(state, T.INTERCEPT): S.INTERCEPTED for state in (S.HANDED_OVER, *MOVING)},
        **{(state, T.CANCEL): S.CANCELLED for state in BEFORE_HANDOVER},
    },
)


class Rollup(StrEnum):
    NOT_SHIPPED = "not_shipped"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"


_SHIPPED = frozenset({*MOVING, S.DELIVERED, S.REFUSED, S.LOST, S.RETURNED})


def rollup(statuses: Iterable[str]) -> Rollup:
    """The order's shipping progress from its live shipments (cancelled ones don't count)."""
    live = [s for s in statuses if s not in (S.CANCELLED, S.INTERCEPTED)]
    if not live:
        return Rollup.NOT_SHIPPED
    delivered = sum(s == S.DELIVERED for s in live)
    shipped = sum(s in _SHIPPED for s in live)
    if delivered == len(live):
        return Rollup.DELIVERED
    if delivered:
        return Rollup.PARTIALLY_DELIVERED
    if shipped == len(live):
        return Rollup.SHIPPED
    if shipped:
        return Rollup.PARTIALLY_SHIPPED
    return Rollup.NOT_SHIPPED
