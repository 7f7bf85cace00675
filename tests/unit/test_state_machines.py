"""Every (state, trigger) pair of every lifecycle, legal and illegal, against tables written out by hand."""

from __future__ import annotations

import pytest

from ordo.fulfillment.states import SHIPMENT, Rollup, ShipmentStatus, ShipmentTrigger, rollup
from ordo.kernel.errors import IllegalTransition
from ordo.kernel.i18n import translate
from ordo.kernel.statemachine import StateMachine
from ordo.order.states import ORDER, PAYMENT, OrderStatus, OrderTrigger, PaymentStatus, PaymentTrigger

OS, OT = OrderStatus, OrderTrigger
ORDER_EXPECTED = {
    (OS.PENDING_PAYMENT, OT.PAY): OS.PENDING_REVIEW,
    (OS.PENDING_PAYMENT, OT.CLOSE): OS.CLOSED,
    (OS.PENDING_PAYMENT, OT.HOLD): OS.ON_HOLD,
    (OS.PENDING_PAYMENT, OT.CANCEL): OS.CANCELLED,
    (OS.PENDING_REVIEW, OT.CONFIRM): OS.CONFIRMED,
    (OS.PENDING_REVIEW, OT.REJECT): OS.CANCELLED,
    (OS.PENDING_PAYMENT, OT.REJECT): OS.CANCELLED,
    (OS.ON_HOLD, OT.REJECT): OS.CANCELLED,
    (OS.PENDING_REVIEW, OT.HOLD): OS.ON_HOLD,
    (OS.PENDING_REVIEW, OT.CANCEL): OS.CANCELLED,
    (OS.CONFIRMED, OT.ALLOCATE): OS.ALLOCATED,
    (OS.CONFIRMED, OT.BACKORDER): OS.BACKORDERED,
    (OS.CONFIRMED, OT.HOLD): OS.ON_HOLD,
    (OS.CONFIRMED, OT.CANCEL): OS.CANCELLED,
    (OS.BACKORDERED, OT.ALLOCATE): OS.ALLOCATED,
    (OS.BACKORDERED, OT.HOLD): OS.ON_HOLD,
    (OS.BACKORDERED, OT.CANCEL): OS.CANCELLED,
    (OS.ALLOCATED, OT.START_FULFILLMENT): OS.IN_FULFILLMENT,
    (OS.ALLOCATED, OT.HOLD): OS.ON_HOLD,
    (OS.ALLOCATED, OT.CANCEL): OS.CANCELLED,
    (OS.IN_FULFILLMENT, OT.SHIP): OS.SHIPPED,
    (OS.IN_FULFILLMENT, OT.CANCEL): OS.CANCELLED,
    (OS.SHIPPED, OT.DELIVER): OS.DELIVERED,
    (OS.DELIVERED, OT.COMPLETE): OS.COMPLETED,
    (OS.ON_HOLD, OT.CANCEL): OS.CANCELLED,
    (OS.ON_HOLD, OT.CLOSE): OS.CLOSED,
    (OS.ON_HOLD, OT.RESUME_PENDING_PAYMENT): OS.PENDING_PAYMENT,
    (OS.ON_HOLD, OT.RESUME_PENDING_REVIEW): OS.PENDING_REVIEW,
    (OS.ON_HOLD, OT.RESUME_CONFIRMED): OS.CONFIRMED,
    (OS.ON_HOLD, OT.RESUME_ALLOCATED): OS.ALLOCATED,
    (OS.ON_HOLD, OT.RESUME_BACKORDERED): OS.BACKORDERED,
}

P, PT = PaymentStatus, PaymentTrigger
PAYMENT_EXPECTED = {
    (P.UNPAID, PT.PAY): P.PAID,
    (P.PAID, PT.REFUND_PART): P.PARTIALLY_REFUNDED,
    (P.PAID, PT.REFUND_REST): P.REFUNDED,
    (P.PARTIALLY_REFUNDED, PT.REFUND_PART): P.PARTIALLY_REFUNDED,
    (P.PARTIALLY_REFUNDED, PT.REFUND_REST): P.REFUNDED,
}

S, ST = ShipmentStatus, ShipmentTrigger
SHIPMENT_EXPECTED = {
    (S.ALLOCATED, ST.START_PICK): S.PICKING,
    (S.ALLOCATED, ST.CANCEL): S.CANCELLED,
    (S.PICKING, ST.FINISH_PICK): S.PICKED,
    (S.PICKING, ST.CANCEL): S.CANCELLED,
    (S.PICKED, ST.CHECK): S.CHECKED,
    (S.PICKED, ST.CANCEL): S.CANCELLED,
    (S.CHECKED, ST.PACK): S.PACKED,
    (S.CHECKED, ST.CANCEL): S.CANCELLED,
    (S.PACKED, ST.HAND_OVER): S.HANDED_OVER,
    (S.PACKED, ST.CANCEL): S.CANCELLED,
    (S.HANDED_OVER, ST.SHIP): S.IN_TRANSIT,
    (S.HANDED_OVER, ST.INTERCEPT): S.INTERCEPTED,
    (S.IN_TRANSIT, ST.DECLARE_EXPORT): S.EXPORT_DECLARED,
    (S.IN_TRANSIT, ST.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
    (S.IN_TRANSIT, ST.DELIVER): S.DELIVERED,
    (S.IN_TRANSIT, ST.LOSE): S.LOST,
    (S.IN_TRANSIT, ST.INTERCEPT): S.INTERCEPTED,
    (S.EXPORT_DECLARED, ST.ENTER_CUSTOMS): S.IN_CUSTOMS,
    (S.EXPORT_DECLARED, ST.LOSE): S.LOST,
    (S.EXPORT_DECLARED, ST.INTERCEPT): S.INTERCEPTED,
    (S.IN_CUSTOMS, ST.CLEAR_CUSTOMS): S.CLEARED,
    (S.IN_CUSTOMS, ST.LOSE): S.LOST,
    (S.IN_CUSTOMS, ST.INTERCEPT): S.INTERCEPTED,
    (S.CLEARED, ST.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
    (S.CLEARED, ST.LOSE): S.LOST,
    (S.CLEARED, ST.INTERCEPT): S.INTERCEPTED,
    (S.OUT_FOR_DELIVERY, ST.DELIVER): S.DELIVERED,
    (S.OUT_FOR_DELIVERY, ST.REFUSE): S.REFUSED,
    (S.OUT_FOR_DELIVERY, ST.LOSE): S.LOST,
    (S.OUT_FOR_DELIVERY, ST.INTERCEPT): S.INTERCEPTED,
    (S.REFUSED, ST.RETURN): S.RETURNED,
}

# What an illegal action answers with, per state: written out, not derived from the tables above.
ORDER_ALLOWED = {
    OS.PENDING_PAYMENT: ["cancel", "close", "hold", "pay", "reject"],
    OS.PENDING_REVIEW: ["cancel", "confirm", "hold", "reject"],
    OS.CONFIRMED: ["allocate", "backorder", "cancel", "hold"],
    OS.ALLOCATED: ["cancel", "hold", "start_fulfillment"],
    OS.BACKORDERED: ["allocate", "cancel", "hold"],
    OS.IN_FULFILLMENT: ["cancel", "ship"],
    OS.SHIPPED: ["deliver"],
    OS.DELIVERED: ["complete"],
    OS.COMPLETED: [],
    OS.ON_HOLD: [
        "cancel", "close", "reject", "resume_allocated", "resume_backordered", "resume_confirmed",
        "resume_pending_payment", "resume_pending_review",
    ],
    OS.CANCELLED: [],
    OS.CLOSED: [],
}
PAYMENT_ALLOWED = {
    P.UNPAID: ["pay"],
    P.PAID: ["refund_part", "refund_rest"],
    P.PARTIALLY_REFUNDED: ["refund_part", "refund_rest"],
    P.REFUNDED: [],
}
SHIPMENT_ALLOWED = {
    S.ALLOCATED: ["cancel", "start_pick"],
    S.PICKING: ["cancel", "finish_pick"],
    S.PICKED: ["cancel", "check"],
    S.CHECKED: ["cancel", "pack"],
    S.PACKED: ["cancel", "hand_over"],
    S.HANDED_OVER: ["intercept", "ship"],
    S.IN_TRANSIT: ["declare_export", "deliver", "intercept", "lose", "out_for_delivery"],
    S.EXPORT_DECLARED: ["enter_customs", "intercept", "lose"],
    S.IN_CUSTOMS: ["clear_customs", "intercept", "lose"],
    S.CLEARED: ["intercept", "lose", "out_for_delivery"],
    S.OUT_FOR_DELIVERY: ["deliver", "intercept", "lose", "refuse"],
    S.DELIVERED: [],
    S.REFUSED: ["return"],
    S.LOST: [],
    S.RETURNED: [],
    S.INTERCEPTED: [],
    S.CANCELLED: [],
}

MACHINES = {
    "order": (ORDER, OrderStatus, OrderTrigger, ORDER_EXPECTED, ORDER_ALLOWED),
    "payment": (PAYMENT, PaymentStatus, PaymentTrigger, PAYMENT_EXPECTED, PAYMENT_ALLOWED),
    "shipment": (SHIPMENT, ShipmentStatus, ShipmentTrigger, SHIPMENT_EXPECTED, SHIPMENT_ALLOWED),
}


def _pairs(name: str) -> list[tuple[str, str, str]]:
    _, states, triggers, _, _ = MACHINES[name]
    return [(name, state, trigger) for state in states for trigger in triggers]


ALL_PAIRS = [pair for name in MACHINES for pair in _pairs(name)]


def test_the_walk_covers_every_state_and_trigger():
    assert [len(_pairs(name)) for name in MACHINES] == [12 * 17, 4 * 3, 17 * 16]


@pytest.mark.parametrize("name", list(MACHINES))
def test_the_hand_written_tables_agree_with_each_other(name):
    # Guards the test data itself: each state's legal triggers are exactly the written-out list.
    _, states, _, expected, allowed = MACHINES[name]
    assert {state: sorted(t for s, t in expected if s == state) for state in states} == allowed


@pytest.mark.parametrize("name", list(MACHINES))
def test_the_machine_has_no_transition_outside_the_table(name):
    machine, _, _, expected, _ = MACHINES[name]
    assert dict(machine.transitions) == expected


@pytest.mark.parametrize(("name", "state", "trigger"), ALL_PAIRS, ids=[f"{n}:{s}:{t}" for n, s, t in ALL_PAIRS])
def test_every_state_and_trigger(name, state, trigger):
    machine, _, _, expected, allowed = MACHINES[name]
    if (state, trigger) in expected:
        assert machine.can(state, trigger) is True
        assert machine.fire(state, trigger) == expected[(state, trigger)]
        return
    assert machine.can(state, trigger) is False
    with pytest.raises(IllegalTransition) as illegal:
        machine.fire(state, trigger)
    error = illegal.value
    assert (error.state, error.action, error.allowed) == (state, trigger, allowed[state])
    assert translate(error.key, "en", error.params) == (
        f'{name} is {state}; "{trigger}" is not allowed. Allowed actions: {", ".join(allowed[state]) or "-"}.'
    )


def test_illegal_transition_message_in_both_languages():
    with pytest.raises(IllegalTransition) as illegal:
        ORDER.fire(OrderStatus.SHIPPED, OrderTrigger.CANCEL)
    error = illegal.value
    assert (error.code, error.status) == ("illegal_transition", 409)
    assert translate(error.key, "en", error.params) == (
        'order is shipped; "cancel" is not allowed. Allowed actions: deliver.'
    )
    assert translate(error.key, "zh-CN", error.params) == (
        "order当前状态为 shipped，不允许执行“cancel”。可执行的操作：deliver。"
    )


def test_a_final_state_allows_nothing():
    with pytest.raises(IllegalTransition) as illegal:
        PAYMENT.fire(PaymentStatus.REFUNDED, PaymentTrigger.PAY)
    assert illegal.value.allowed == []
    assert translate(illegal.value.key, "en", illegal.value.params) == (
        'payment is refunded; "pay" is not allowed. Allowed actions: -.'
    )


def test_states_and_triggers_of_a_machine():
    machine = StateMachine(
        "door", {("closed", "open"): "open", ("open", "close"): "closed", ("closed", "lock"): "locked"}
    )
    assert (machine.states, machine.triggers) == (
        frozenset({"closed", "open", "locked"}), frozenset({"open", "close", "lock"})
    )
    assert (machine.allowed("closed"), machine.allowed("locked"), machine.allowed("ajar")) == (["lock", "open"], [], [])


# --- shipping progress of an order from its shipments ------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Rollup.NOT_SHIPPED),
        ([S.ALLOCATED, S.PACKED], Rollup.NOT_SHIPPED),
        ([S.HANDED_OVER], Rollup.NOT_SHIPPED),
        ([S.IN_TRANSIT, S.PICKING], Rollup.PARTIALLY_SHIPPED),
        ([S.IN_TRANSIT, S.IN_CUSTOMS], Rollup.SHIPPED),
        ([S.OUT_FOR_DELIVERY, S.LOST], Rollup.SHIPPED),
        ([S.DELIVERED, S.IN_TRANSIT], Rollup.PARTIALLY_DELIVERED),
        ([S.DELIVERED, S.PACKED], Rollup.PARTIALLY_DELIVERED),
        ([S.DELIVERED, S.DELIVERED], Rollup.DELIVERED),
        ([S.DELIVERED, S.CANCELLED], Rollup.DELIVERED),
        ([S.IN_TRANSIT, S.CANCELLED, S.INTERCEPTED], Rollup.SHIPPED),
        ([S.CANCELLED, S.CANCELLED], Rollup.NOT_SHIPPED),
        ([S.PICKED, S.CANCELLED], Rollup.NOT_SHIPPED),
    ],
)
def test_rollup(statuses, expected):
    assert rollup(statuses) == expected


def test_rollup_reads_plain_strings_and_a_generator_once():
    assert rollup(s for s in ["delivered", "in_transit"]) == Rollup.PARTIALLY_DELIVERED
