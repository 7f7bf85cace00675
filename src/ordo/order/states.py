"""Order and payment lifecycles as explicit transition tables (DESIGN.md, "Lifecycles")."""

from __future__ import annotations

from enum import StrEnum

from ordo.kernel.statemachine import StateMachine


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PENDING_REVIEW = "pending_review"
    CONFIRMED = "confirmed"
    ALLOCATED = "allocated"
    BACKORDERED = "backordered"
    IN_FULFILLMENT = "in_fulfillment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class OrderTrigger(StrEnum):
    PAY = "pay"
    CONFIRM = "confirm"
    REJECT = "reject"
    ALLOCATE = "allocate"
    BACKORDER = "backorder"
    START_FULFILLMENT = "start_fulfillment"
    SHIP = "ship"
    DELIVER = "deliver"
    COMPLETE = "complete"
    HOLD = "hold"
    CANCEL = "cancel"
    CLOSE = "close"
    # Releasing the last hold returns the order to where it was held; one trigger per origin keeps
    # that return in the table instead of in the handler.
    RESUME_PENDING_PAYMENT = "resume_pending_payment"
    RESUME_PENDING_REVIEW = "resume_pending_review"
    RESUME_CONFIRMED = "resume_confirmed"
    RESUME_ALLOCATED = "resume_allocated"
    RESUME_BACKORDERED = "resume_backordered"


class HoldReason(StrEnum):
    AWAITING_CUSTOMER = "awaiting_customer"
    DUPLICATE_SUSPECTED = "duplicate_suspected"
    RISK_INTERCEPTED = "risk_intercepted"
    SECOND_REVIEW = "second_review"
    OUT_OF_STOCK = "out_of_stock"
    OTHER = "other"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class PaymentTrigger(StrEnum):
    PAY = "pay"
    REFUND_PART = "refund_part"
    REFUND_REST = "refund_rest"


S, T = OrderStatus, OrderTrigger


def resume_trigger(state: str) -> OrderTrigger:
    return OrderTrigger(f"resume_{state}")


# States from which an order can be put on hold; releasing the last hold returns it there.
HOLDABLE = (S.PENDING_PAYMENT, S.PENDING_REVIEW, S.CONFIRMED, S.ALLOCATED, S.BACKORDERED)
# Cancellation before anything left the warehouse (later: interception after hand-over).
CANCELLABLE = (*HOLDABLE, S.ON_HOLD, S.IN_FULFILLMENT)

ORDER = StateMachine(
    "order",
    {
        (S.PENDING_PAYMENT, T.PAY): S.PENDING_REVIEW,
        (S.PENDING_PAYMENT, T.CLOSE): S.CLOSED,
        (S.PENDING_REVIEW, T.CONFIRM): S.CONFIRMED,
        (S.PENDING_REVIEW, T.REJECT): S.CANCELLED,
        # A reviewer (or the blacklist) may refuse an order before payment or while it is held.
        (S.PENDING_PAYMENT, T.REJECT): S.CANCELLED,
        (S.ON_HOLD, T.REJECT): S.CANCELLED,
        (S.CONFIRMED, T.ALLOCATE): S.ALLOCATED,
        (S.CONFIRMED, T.BACKORDER): S.BACKORDERED,
        (S.BACKORDERED, T.ALLOCATE): S.ALLOCATED,
        (S.ALLOCATED, T.START_FULFILLMENT): S.IN_FULFILLMENT,
        (S.IN_FULFILLMENT, T.SHIP): S.SHIPPED,
        (S.SHIPPED, T.DELIVER): S.DELIVERED,
        (S.DELIVERED, T.COMPLETE): S.COMPLETED,
        (S.ON_HOLD, T.CLOSE): S.CLOSED,
        **{(state, T.HOLD): S.ON_HOLD for state in HOLDABLE},
        **{(S.ON_HOLD, resume_trigger(state)): state for state in HOLDABLE},
        **{(state, T.CANCEL): S.CANCELLED for state in CANCELLABLE},
    },
)

P, PT = PaymentStatus, PaymentTrigger

PAYMENT = StateMachine(
    "payment",
    {
        (P.UNPAID, PT.PAY): P.PAID,
        (P.PAID, PT.REFUND_PART): P.PARTIALLY_REFUNDED,
        (P.PAID, PT.REFUND_REST): P.REFUNDED,
        (P.PARTIALLY_REFUNDED, PT.REFUND_PART): P.PARTIALLY_REFUNDED,
        (P.PARTIALLY_REFUNDED, PT.REFUND_REST): P.REFUNDED,
    },
)
