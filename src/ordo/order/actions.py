"""The order actions offered to people (API and CLI share this table), with the fields each needs."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from pydantic import Field

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.fulfillment.states import SHIPMENT, ShipmentTrigger
from ordo.kernel.checks import In
from ordo.kernel.errors import Problem, ValidationFailed
from ordo.order import backorders, handlers
from ordo.order.states import (
    ORDER,
    PAYMENT,
    HoldReason,
    OrderStatus,
    OrderTrigger,
    PaymentStatus,
    PaymentTrigger,
)
from ordo.order.tables import Order
from ordo.review import handlers as review


class OrderAction(StrEnum):
    PAY = "pay"
    CONFIRM = "confirm"
    REJECT = "reject"
    ALLOCATE = "allocate"
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"
    CLOSE = "close"
    PICK = "pick"
    FINISH_PICK = "finish-pick"
    CHECK = "check"
    PACK = "pack"
    HAND_OVER = "hand-over"
    SHIP = "ship"
    OUT_FOR_DELIVERY = "out-for-delivery"
    DELIVER = "deliver"
    COMPLETE = "complete"
    # A backordered order: the customer waits, or takes another SKU for a line.
    WAIT = "wait"
    SUBSTITUTE = "substitute"


class ActionIn(In):
    reason: str | None = Field(default=None, max_length=1000,
                               description="Why (reject, cancel, close; ship with override_booking)")
    note: str | None = Field(default=None, max_length=1000)
    hold_reason: HoldReason | None = Field(default=None, description="For hold and release")
    shipment: str | None = Field(default=None, max_length=32, description="Only this shipment (default: all)")
    carrier: str | None = Field(
        default=None, max_length=64, description="For ship (default: the carrier booked at hand-over)"
    )
    tracking_number: str | None = Field(
        default=None, max_length=64,
        description="For ship (default: the booked number); for hand-over with a manual carrier, the number typed",
    )
    service: str | None = Field(default=None, max_length=64, description="For ship (default: the booked service)")
    override_booking: bool = Field(
        default=False,
        description="For ship: carrier, service and tracking number other than the booking's replace it (needs reason)",
    )
    reference: str | None = Field(default=None, max_length=128, description="Payment reference, for pay")
    line_no: int | None = Field(default=None, ge=1, le=10_000, description="For substitute: the order line")
    sku: str | None = Field(default=None, max_length=64, description="For substitute: the SKU taking its place")


REQUIRED: dict[OrderAction, tuple[str, ...]] = {
    OrderAction.REJECT: ("reason",),
    OrderAction.CANCEL: ("reason",),
    OrderAction.CLOSE: ("reason",),
    OrderAction.HOLD: ("hold_reason",),
    OrderAction.RELEASE: ("hold_reason",),
    OrderAction.SUBSTITUTE: ("line_no", "sku"),
}

_SHIPMENT_STEPS: dict[OrderAction, ShipmentTrigger] = {
    OrderAction.PICK: ShipmentTrigger.START_PICK,
    OrderAction.FINISH_PICK: ShipmentTrigger.FINISH_PICK,
    OrderAction.CHECK: ShipmentTrigger.CHECK,
    OrderAction.PACK: ShipmentTrigger.PACK,
    OrderAction.HAND_OVER: ShipmentTrigger.HAND_OVER,
    OrderAction.SHIP: ShipmentTrigger.SHIP,
    OrderAction.OUT_FOR_DELIVERY: ShipmentTrigger.OUT_FOR_DELIVERY,
    OrderAction.DELIVER: ShipmentTrigger.DELIVER,
}


# Who may do what; checked before anything else so that a refused caller learns nothing more.
PERMISSIONS: dict[OrderAction, Permission] = {
    OrderAction.PAY: Permission.ORDER_PAY,
    OrderAction.CONFIRM: Permission.ORDER_REVIEW,
    OrderAction.REJECT: Permission.ORDER_REVIEW,
    OrderAction.ALLOCATE: Permission.ORDER_ALLOCATE,
    OrderAction.HOLD: Permission.ORDER_HOLD,
    OrderAction.RELEASE: Permission.ORDER_HOLD,
    OrderAction.CANCEL: Permission.ORDER_CANCEL,
    OrderAction.CLOSE: Permission.ORDER_CANCEL,
    OrderAction.COMPLETE: Permission.ORDER_COMPLETE,
    OrderAction.WAIT: Permission.ORDER_HOLD,
    OrderAction.SUBSTITUTE: Permission.ORDER_HOLD,
    **{action: handlers.SHIPMENT_PERMISSIONS[trigger] for action, trigger in _SHIPMENT_STEPS.items()},
}

_ORDER_TRIGGERS: dict[OrderAction, OrderTrigger] = {
    OrderAction.CONFIRM: OrderTrigger.CONFIRM,
    OrderAction.REJECT: OrderTrigger.REJECT,
    OrderAction.ALLOCATE: OrderTrigger.ALLOCATE,
    OrderAction.HOLD: OrderTrigger.HOLD,
    OrderAction.CANCEL: OrderTrigger.CANCEL,
    OrderAction.CLOSE: OrderTrigger.CLOSE,
    OrderAction.COMPLETE: OrderTrigger.COMPLETE,
}


def available(*, status: str, payment_status: str, shipment_statuses: list[str], actor: Actor) -> list[str]:
    """The actions this actor can take on an order in this state, as they are sent to the API."""

    def applies(action: OrderAction) -> bool:
        if action in _SHIPMENT_STEPS:
            return any(SHIPMENT.can(s, _SHIPMENT_STEPS[action]) for s in shipment_statuses)
        if action == OrderAction.PAY:
            return PAYMENT.can(payment_status, PaymentTrigger.PAY)
        if action == OrderAction.RELEASE:
            return status == OrderStatus.ON_HOLD
        if action in (OrderAction.WAIT, OrderAction.SUBSTITUTE):
            return status == OrderStatus.BACKORDERED
        if action == OrderAction.HOLD and status == OrderStatus.ON_HOLD:
            return True
        if action == OrderAction.CLOSE and payment_status != PaymentStatus.UNPAID:
            return False
        return ORDER.can(status, _ORDER_TRIGGERS[action])

    return [a.value for a in OrderAction if actor.can(PERMISSIONS[a]) and applies(a)]


def perform(uow: UnitOfWork, *, number: str, action: OrderAction, body: ActionIn, actor: Actor) -> Order:
    actor.require(PERMISSIONS[action])
    overrides = action == OrderAction.SHIP and body.override_booking
    required = (*REQUIRED.get(action, ()), *(("reason",) if overrides else ()))
    missing = [name for name in required if not getattr(body, name)]
    if missing:
        raise ValidationFailed(Problem(name, "required", {"path": name}) for name in missing)
    if action in _SHIPMENT_STEPS:
        return handlers.advance_shipments(
            uow,
            number=number,
            trigger=_SHIPMENT_STEPS[action],
            actor=actor,
            shipment=body.shipment,
            carrier=body.carrier,
            tracking_number=body.tracking_number,
            service=body.service,
            override_reason=body.reason if overrides else None,
            note=body.note,
        )
    simple: dict[OrderAction, Callable[[], Order]] = {
        OrderAction.PAY: lambda: handlers.pay(uow, number=number, actor=actor, reference=body.reference),
        # Confirming and rejecting go through the review, which honours claims and the two levels.
        OrderAction.CONFIRM: lambda: review.approve(uow, number=number, actor=actor, note=body.note),
        OrderAction.REJECT: lambda: review.reject(uow, number=number, actor=actor, reason=str(body.reason)),
        OrderAction.ALLOCATE: lambda: handlers.allocate(uow, number=number, actor=actor),
        OrderAction.HOLD: lambda: handlers.hold(
            uow, number=number, actor=actor, reason=HoldReason(str(body.hold_reason)), note=body.note
        ),
        OrderAction.RELEASE: lambda: handlers.release(
            uow, number=number, actor=actor, reason=HoldReason(str(body.hold_reason)), note=body.note
        ),
        OrderAction.CANCEL: lambda: handlers.cancel(uow, number=number, actor=actor, reason=str(body.reason)),
        OrderAction.CLOSE: lambda: handlers.close(uow, number=number, actor=actor, reason=str(body.reason)),
        OrderAction.COMPLETE: lambda: handlers.complete(uow, number=number, actor=actor),
        OrderAction.WAIT: lambda: backorders.wait(uow, number=number, actor=actor, note=body.note),
        OrderAction.SUBSTITUTE: lambda: backorders.substitute(
            uow, number=number, actor=actor, line_no=int(body.line_no or 0), sku=str(body.sku), note=body.note
        ),
    }
    return simple[action]()
