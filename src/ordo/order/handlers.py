"""Order commands: one function per command, run inside the caller's transaction.

Each loads what it needs, asks the pure rules and transition tables, persists, and appends an
event for every state change. Permission and scope are checked here, so the API and the CLI
cannot forget them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Update, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, UnboundExecutionError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ordo.adapters.db import prepared, reference
from ordo.adapters.db.reference import cached
from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.catalog.model import SkuView
from ordo.catalog.queries import active_skus
from ordo.channel.model import ShopView
from ordo.channel.tables import Shop
from ordo.customer.tables import Customer
from ordo.fulfillment import handlers as shipments
from ordo.fulfillment import scanning as _scanning  # noqa: F401  (registers the pick and check guards)
from ordo.fulfillment.states import BEFORE_HANDOVER, SHIPMENT, Rollup, ShipmentStatus, ShipmentTrigger, rollup
from ordo.fulfillment.tables import Shipment
from ordo.inventory import handlers as inventory
from ordo.inventory.tables import Warehouse
from ordo.kernel.clock import business_date
from ordo.kernel.errors import Conflict, Forbidden, IdempotencyConflict, IllegalTransition, Problem, ValidationFailed
from ordo.order import backorders, lifecycle
from ordo.order.allocation import allocate_order, needs_of
from ordo.order.lifecycle import SYSTEM, load_order, release_holds, transition
from ordo.order.model import OrderDraft, OrderSubmission
from ordo.order.numbering import next_number
from ordo.order.rules import validate_submission
from ordo.order.states import (
    ORDER,
    PAYMENT,
    HoldReason,
    OrderStatus,
    OrderTrigger,
    PaymentStatus,
    PaymentTrigger,
)
from ordo.order.tables import Order, OrderLine
from ordo.review import screening
from ordo.review.tables import ReviewFinding
from ordo.shipping import steps as shipping_steps  # registers the pack and hand-over guards
from ordo.shipping.rules import CarrierValues

# --- intake -----------------------------------------------------------------------------------

T = TypeVar("T")


def _views(session: Session, submission: OrderSubmission) -> tuple[dict[str, ShopView], dict[str, SkuView]]:
    """The active shop and SKUs the submission names (from the process's reference copies)."""
    shops: dict[str, ShopView] = {}
    if submission.shop:
        shop = cached(session, ("shop", submission.shop), lambda s: _active_shop(s, submission.shop))
        if shop is not None:
            shops[shop.code] = shop
    return shops, active_skus(session, (line.sku for line in submission.lines or () if line.sku))


def _active_shop(session: Session, code: str | None) -> ShopView | None:
    shop = session.scalars(select(Shop).where(Shop.code == code, Shop.active.is_(True))).first()
    return ShopView(id=shop.id, code=shop.code, channel=shop.channel) if shop is not None else None


def _digest(fingerprint: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# Every intake asks first whether its (shop code, external id) is known, and with it reads the
# reference generation its look-ups of shop and SKUs need: one row, the order loaded only if known.
_KNOWN = select(
    reference.GENERATION_NUMBER, reference.GENERATION_TOKEN,
    select(Order.id).join(Shop, Shop.id == Order.shop_id)
    .where(Shop.code == bindparam("shop"), Order.external_id == bindparam("external_id"))
    .scalar_subquery().label("known"),
)


@dataclass(frozen=True)
class Validated:
    """A submission validated on the shop and SKUs of one reference generation (``validated_ahead``)."""

    generation: tuple[int, float]
    draft: OrderDraft
    fingerprint: dict[str, Any]
    digest: str


def validated_ahead(ordo: Ordo, submission: OrderSubmission) -> Validated | None:
    """The submission validated before its transaction, on the process's copies of its shop and
    SKUs as of the newest reference generation the process has read: the part of an intake that
    needs no database, done outside the transaction (on SQLite, outside the one writer's lock).
    ``submit_order`` uses it if its transaction reads the same generation. None if a copy is
    missing or the submission does not pass: the transaction then validates it on what it reads,
    and says why it does not pass."""
    offline = reference.offline(ordo.reference)
    if offline is None:
        return None
    session, generation = offline
    try:
        shops, skus = _views(session, submission)
        draft = validate_submission(submission, shops=shops, skus=skus, policy=ordo.policy.intake)
    except (ValidationFailed, UnboundExecutionError):
        return None
    fingerprint = draft.fingerprint()
    return Validated(generation, draft, fingerprint, _digest(fingerprint))


def submit_order(uow: UnitOfWork, *, submission: OrderSubmission, actor: Actor,
                 ahead: Validated | None = None) -> tuple[Order, bool]:
    """Accept an order from a channel. Returns (order, created); the same payload again returns the
    existing order, a different payload under the same (shop, external id) is a conflict.
    ``ahead``: the submission as ``validated_ahead`` found it, used if the reference generation is
    still the one it was validated on."""
    actor.require(Permission.ORDER_CREATE)
    session = uow.session
    known = None
    generation = None
    if submission.shop and submission.external_id is not None:
        row = prepared.execute(prepared.connection(session), _KNOWN, {
            "shop": submission.shop, "external_id": str(submission.external_id)}).one()
        reference.seen(session, row.generation_number, row.generation_token)
        known = row.known
        if row.generation_number is not None and row.generation_token is not None:
            generation = (int(row.generation_number), float(row.generation_token))
    if ahead is not None and ahead.generation == generation:
        draft, fingerprint, digest = ahead.draft, ahead.fingerprint, ahead.digest
    else:
        shops, skus = _views(session, submission)
        draft = validate_submission(submission, shops=shops, skus=skus, policy=uow.policy.intake)
        fingerprint = draft.fingerprint()
        digest = _digest(fingerprint)
    if not actor.sees_shop(draft.shop_code):
        raise Forbidden(
            "forbidden", roles=", ".join(sorted(actor.roles)), action=f"create orders for {draft.shop_code}"
        )
    if known is not None:  # the draft's shop is the one the submission names, its external id the same
        existing = session.get_one(Order, known)
        if existing.payload_hash == digest:
            return existing, False
        changed = sorted(k for k in fingerprint if fingerprint[k] != existing.payload.get(k))
        raise IdempotencyConflict(
            "idempotency_conflict",
            shop=draft.shop_code,
            external_id=draft.external_id,
            number=existing.number,
            fields=", ".join(changed),
        )
    order = _insert(uow, draft, fingerprint, digest, actor)
    # The reads of screening and allocation do not depend on what this intake has pending (its
    # events, clocks, notices, the order's status): they are left to one flush before the shipment
    # insert and one at commit, so the pending rows go in batches and a clock started and stopped
    # here is inserted once, not inserted and updated.
    with uow.session.no_autoflush:
        auto_progress(uow, order, fresh=True)
    return order, True


def intake(ordo: Ordo, *, submission: OrderSubmission, actor: Actor) -> tuple[str, bool]:
    """``submit_order`` in its own transaction: the order's number, and whether it is new."""
    return intake_with(ordo, submission=submission, actor=actor, answer=lambda uow, order: order.number)


def intake_with(ordo: Ordo, *, submission: OrderSubmission, actor: Actor,
                answer: Callable[[UnitOfWork, Order], T]) -> tuple[T, bool]:
    """``submit_order`` in its own transaction, with ``answer(uow, order)`` read in it after the
    order's writes (what the commit keeps); and whether the order is new. If a concurrent twin
    inserted the same (shop, external id) first, the unique key fails this transaction; the retry
    then finds the twin and answers as for a repeated submission. The submission is validated
    before the transaction where the process has the reference copies it needs (``validated_ahead``)."""
    ahead = validated_ahead(ordo, submission)

    def command(uow: UnitOfWork) -> tuple[T, bool]:
        order, created = submit_order(uow, submission=submission, actor=actor, ahead=ahead)
        return answer(uow, order), created

    return ordo.run(command, also=IntegrityError)


def _customer(session: Session, draft: OrderDraft, uow: UnitOfWork) -> tuple[int, int]:
    """(id, VIP level) of the customer with this phone (else e-mail), created if new. The insert
    skips on a unique conflict, so a concurrent first order from the same person waits for the
    other's customer row and then finds it. On PostgreSQL the look-up and the insert are one
    statement (``_FIND_OR_ADD``)."""
    values = {"name": draft.customer_name, "phone": draft.phone or None, "email": draft.email or None,
              "account": draft.account, "vip_level": 0, "created_at": uow.clock.now()}
    connection = prepared.connection(session)
    if connection.dialect.name == "postgresql":
        row = prepared.execute(connection, _FIND_OR_ADD, values).first()
        if row is not None:
            return row.id, row.vip_level
    else:
        existing = _find_customer(session, draft)
        if existing is not None:
            return existing
        created = prepared.execute(connection, _new_customer(connection.dialect.name), values).scalar()
        if created is not None:
            return created, 0
    found = _find_customer(session, draft)
    assert found is not None
    return found


@cache
def _new_customer(dialect: str) -> Insert:
    """The insert of a new customer that skips on a unique conflict, answering its id; built once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Customer).on_conflict_do_nothing().returning(Customer.id)


# The customer by phone, else by e-mail, else the one this inserts (none if a concurrent insert of
# the same phone or e-mail won: the statement's snapshot cannot see that one, the next read can).
_FIND_OR_ADD = text("""
WITH found AS (
    SELECT id, vip_level, 0 AS rank FROM customers WHERE phone = :phone
    UNION ALL SELECT id, vip_level, 1 FROM customers WHERE email = :email
), made AS (
    INSERT INTO customers (name, phone, email, account, vip_level, created_at)
    SELECT :name, :phone, :email, :account, :vip_level, :created_at WHERE NOT EXISTS (SELECT FROM found)
    ON CONFLICT DO NOTHING RETURNING id, vip_level
)
SELECT id, vip_level FROM (SELECT id, vip_level, rank FROM found UNION ALL SELECT id, vip_level, 2 FROM made) AS c
ORDER BY rank LIMIT 1
""").bindparams(*(bindparam(column.key, type_=column.type) for column in Customer.__table__.c if column.key != "id"))


_CUSTOMER_BY = {
    key: select(Customer.id, Customer.vip_level).where(column == bindparam("value")).limit(1)
    for key, column in (("phone", Customer.phone), ("email", Customer.email))
}


def _find_customer(session: Session, draft: OrderDraft) -> tuple[int, int] | None:
    """(id, VIP level) of the customer with the draft's phone, else its e-mail."""
    for key, value in (("phone", draft.phone), ("email", draft.email)):
        if value:
            row = prepared.execute(prepared.connection(session), _CUSTOMER_BY[key], {"value": value}).first()
            if row is not None:
                return row.id, row.vip_level
    return None


_ORDER = insert(Order).returning(Order.id)


def _insert(uow: UnitOfWork, draft: OrderDraft, fingerprint: dict[str, Any], digest: str, actor: Actor) -> Order:
    session = uow.session
    now = uow.clock.now()
    customer_id, vip_level = _customer(session, draft, uow)
    secured = draft.payment_status == PaymentStatus.PAID or draft.payment_method == "cash_on_delivery"
    status = OrderStatus.PENDING_REVIEW if secured else OrderStatus.PENDING_PAYMENT
    values: dict[str, Any] = {
        "number": next_number(session, business_date(now, uow.policy.business_timezone),
                              gapless=uow.policy.intake.gapless_numbers),
        "shop_id": draft.shop_id, "channel": draft.channel, "external_id": draft.external_id,
        "account": draft.account, "customer_id": customer_id, "customer_name": draft.customer_name,
        "phone": draft.phone, "email": draft.email, "vip_level": vip_level, "country": draft.country,
        "province": draft.province, "city": draft.city, "district": draft.district, "street": draft.street,
        "postcode": draft.postcode, "remote_area": draft.remote_area, "currency": draft.currency,
        "goods_total": draft.goods_total, "shipping_fee": draft.shipping_fee, "discounts": draft.discounts,
        "total": draft.total, "payment_method": draft.payment_method, "payment_status": draft.payment_status,
        "amount_paid": draft.amount_paid, "service_type": draft.service_type, "order_class": draft.order_class,
        "remark": draft.remark, "status": status, "status_before_hold": None, "payload_hash": digest,
        "payload": fingerprint, "version": 1, "placed_at": draft.placed_at or now, "created_at": now,
        "updated_at": now,
    }
    # Written with prepared INSERTs, the rows joining the session as if read back (no flush).
    connection = prepared.connection(session)
    order_id = prepared.execute(connection, _ORDER, values).scalar_one()
    rows = [{"order_id": order_id, "line_no": line.line_no, "sku_id": line.sku_id, "sku_code": line.sku_code,
             "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price, "amount": line.amount}
            for line in draft.lines]
    line_ids = dict(prepared.insert_rows(connection, OrderLine.__table__, rows, returning=("line_no", "id")))
    order = prepared.loaded(session, Order, {"id": order_id, **values})
    set_committed_value(order, "lines", [prepared.loaded(session, OrderLine, {"id": line_ids[row["line_no"]], **row})
                                         for row in rows])
    set_committed_value(order, "holds", [])  # a new order has none: reading them needs no query
    record(
        session,
        at=now,
        actor=actor.name,
        entity="order",
        entity_id=order.id,
        order_id=order.id,
        name="order.created",
        to_state=status,
        data={"shop": draft.shop_code, "external_id": draft.external_id, "total": str(draft.total)},
    )
    return order


def auto_progress(uow: UnitOfWork, order: Order, *, fresh: bool = False) -> None:
    """Automatic review, then allocation (POLICIES.md: complete information, stock available and
    payment received → to process automatically). The review rules run first (``review.screening``):
    they may reject the order, hold it or queue it for people; only a clear order is confirmed here.
    ``fresh``: the order was created in this transaction (intake)."""
    policy = uow.policy.review
    decision = None
    if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PENDING_REVIEW) and policy.auto_screen:
        decision = screening.screen(uow, order, fresh=fresh)
        if not decision.clear:
            return
    screened = decision is not None
    # Pending review means paid or cash on delivery; with the rules on, a cash-on-delivery order is
    # confirmed once its verification finding is settled (or if an admin turned that rule off).
    secured = order.payment_status == PaymentStatus.PAID or screened
    if order.status == OrderStatus.PENDING_REVIEW and secured and policy.auto_confirm_paid:
        transition(uow, order, OrderTrigger.CONFIRM, actor=SYSTEM, reason="automatic review: complete and paid",
                   data=decision.record() if decision is not None else None)
    if order.status == OrderStatus.CONFIRMED and policy.auto_allocate:
        allocate_order(uow, order, actor=SYSTEM, fresh=fresh)
    elif order.status == OrderStatus.BACKORDERED and policy.auto_allocate:
        # Back from a hold (a restock meanwhile passed it by), or just paid (now higher in the queue).
        backorders.try_again(uow, order, actor=SYSTEM)


def settle_findings(uow: UnitOfWork, order: Order, *, actor: str, hold_reason: HoldReason | None = None,
                    by_contact: bool = False) -> int:
    """Mark open findings as settled by a person (all, those behind one hold reason, or those a
    customer's answer settles). Returns how many. One prepared update (after the autoflush an ORM
    statement would do); the findings the session holds are given the new values, as the ORM's own
    update would give them."""
    session, at = uow.session, uow.clock.now()
    params: dict[str, Any] = {"of_order": order.id, "at": at, "by": actor}
    if hold_reason is not None:
        params["for_reason"] = hold_reason.value
    settled = prepared.execute(prepared.connection(session), _settle(hold_reason is not None, by_contact),
                               params).scalars()
    for finding_id in settled:
        finding = session.identity_map.get(identity_key(ReviewFinding, finding_id))
        if finding is not None:
            set_committed_value(finding, "cleared_at", at)
            set_committed_value(finding, "cleared_by", actor)
    return len(settled)


@cache
def _settle(by_reason: bool, by_contact: bool) -> Update:
    findings = ReviewFinding.__table__
    statement = update(findings).where(findings.c.order_id == bindparam("of_order"), findings.c.cleared_at.is_(None))
    if by_reason:
        statement = statement.where(findings.c.hold_reason == bindparam("for_reason"))
    if by_contact:
        statement = statement.where(findings.c.cleared_by_contact.is_(True))
    return (statement.values(cleared_at=bindparam("at", type_=findings.c.cleared_at.type), cleared_by=bindparam("by"))
            .returning(findings.c.id))


# --- lifecycle ----------------------------------------------------------------------------------


def pay(uow: UnitOfWork, *, number: str, actor: Actor, reference: str | None = None) -> Order:
    actor.require(Permission.ORDER_PAY)
    order = load_order(uow.session, number, actor, for_update=True)
    before = order.payment_status
    order.payment_status = PAYMENT.fire(before, PaymentTrigger.PAY)
    order.amount_paid = order.total
    record(
        uow.session,
        at=uow.clock.now(),
        actor=actor.name,
        entity="payment",
        entity_id=order.id,
        order_id=order.id,
        name="payment.paid",
        from_state=before,
        to_state=order.payment_status,
        data={"amount": str(order.total), "reference": reference},
    )
    if order.status == OrderStatus.PENDING_PAYMENT:
        transition(uow, order, OrderTrigger.PAY, actor=actor.name)
    auto_progress(uow, order)
    return order


def confirm(uow: UnitOfWork, *, number: str, actor: Actor, note: str | None = None) -> Order:
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    transition(uow, order, OrderTrigger.CONFIRM, actor=actor.name, reason=note)
    auto_progress(uow, order)
    return order


def reject(uow: UnitOfWork, *, number: str, actor: Actor, reason: str) -> Order:
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    transition(uow, order, OrderTrigger.REJECT, actor=actor.name, reason=reason)
    return order


def allocate(uow: UnitOfWork, *, number: str, actor: Actor) -> Order:
    actor.require(Permission.ORDER_ALLOCATE)
    order = load_order(uow.session, number, actor, for_update=True)
    if not ORDER.can(order.status, OrderTrigger.ALLOCATE):
        raise IllegalTransition("order", order.status, OrderTrigger.ALLOCATE, ORDER.allowed(order.status))
    allocate_order(uow, order, actor=actor.name)
    return order


def hold(uow: UnitOfWork, *, number: str, actor: Actor, reason: HoldReason, note: str | None = None) -> Order:
    actor.require(Permission.ORDER_HOLD)
    order = load_order(uow.session, number, actor, for_update=True)
    if not (order.status == OrderStatus.ON_HOLD or ORDER.can(order.status, OrderTrigger.HOLD)):
        raise IllegalTransition("order", order.status, OrderTrigger.HOLD, ORDER.allowed(order.status))
    waiting = order.status == OrderStatus.BACKORDERED
    if not lifecycle.place_hold(uow, order, reason, actor=actor.name, comment=note):
        raise Conflict("hold_exists", number=number, reason=reason.value)
    if waiting:
        backorders.left_queue(uow, needs_of(order))
    return order


def release(uow: UnitOfWork, *, number: str, actor: Actor, reason: HoldReason, note: str | None = None) -> Order:
    """Release one hold; when the last one goes the order returns to where it was and the automatic
    review runs again."""
    actor.require(Permission.ORDER_HOLD)
    order = load_order(uow.session, number, actor, for_update=True)
    if lifecycle.active_hold(order, reason) is None:
        raise Conflict("hold_missing", number=number, reason=reason.value)
    if reason in screening.REVIEW_HOLDS:
        # Releasing a rule's hold by hand settles the findings behind it.
        settle_findings(uow, order, actor=actor.name, hold_reason=reason)
    if lifecycle.lift_hold(uow, order, reason, actor=actor.name, comment=note):
        auto_progress(uow, order)
    return order


def cancel(uow: UnitOfWork, *, number: str, actor: Actor, reason: str) -> Order:
    """Cancel before anything left the warehouse; reserved stock goes back."""
    actor.require(Permission.ORDER_CANCEL)
    order = load_order(uow.session, number, actor, for_update=True)
    if not ORDER.can(order.status, OrderTrigger.CANCEL):
        raise IllegalTransition("order", order.status, OrderTrigger.CANCEL, ORDER.allowed(order.status))
    now = uow.clock.now()
    live = [s for s in _shipments(uow.session, order)
            if s.status not in (ShipmentStatus.CANCELLED, ShipmentStatus.INTERCEPTED)]
    for shipment in live:
        if shipment.status not in BEFORE_HANDOVER:
            raise Conflict("cancel_after_handover", number=number, shipment=shipment.number)
    waiting = order.status == OrderStatus.BACKORDERED
    released = sorted({line.sku_id for s in live for line in s.lines})
    # The released units may serve waiting orders: noted here, served after the commit.
    with inventory.restocking(uow, released):
        for shipment in live:
            shipments.fire(uow.session, shipment, ShipmentTrigger.CANCEL, actor=actor.name, at=now, reason=reason)
            inventory.release_shipment(
                uow.session, shipment_id=shipment.id, actor=actor.name, at=now, reference=order.number
            )
        release_holds(order, at=now, actor=actor.name)
        transition(uow, order, OrderTrigger.CANCEL, actor=actor.name, reason=reason)
    if waiting:
        backorders.left_queue(uow, needs_of(order))
    inventory.check_reorder(uow.session, uow.policy.inventory, released, now)
    order.status_before_hold = None
    screening.record_cancellation(uow, order)
    screening.close_case(uow, order, status="cancelled", by=actor.name, note=reason)
    return order


def close(uow: UnitOfWork, *, number: str, actor: Actor, reason: str) -> Order:
    """Close an order that was never paid (no stock is held for unpaid orders)."""
    actor.require(Permission.ORDER_CANCEL)
    order = load_order(uow.session, number, actor, for_update=True)
    if order.payment_status != PaymentStatus.UNPAID:
        raise Conflict("close_paid", number=number, payment=order.payment_status)
    waiting = order.status == OrderStatus.BACKORDERED
    transition(uow, order, OrderTrigger.CLOSE, actor=actor.name, reason=reason)
    release_holds(order, at=uow.clock.now(), actor=actor.name)
    if waiting:
        backorders.left_queue(uow, needs_of(order))
    order.status_before_hold = None
    screening.close_case(uow, order, status="cancelled", by=actor.name, note=reason)
    return order


def complete(uow: UnitOfWork, *, number: str, actor: Actor) -> Order:
    actor.require(Permission.ORDER_COMPLETE)
    order = load_order(uow.session, number, actor, for_update=True)
    transition(uow, order, OrderTrigger.COMPLETE, actor=actor.name)
    return order


def _shipments(session: Session, order: Order) -> list[Shipment]:
    return list(session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)))


# --- shipment steps driven from the order ---------------------------------------------------------

SHIPMENT_PERMISSIONS: dict[ShipmentTrigger, Permission] = {
    ShipmentTrigger.START_PICK: Permission.SHIPMENT_PICK,
    ShipmentTrigger.FINISH_PICK: Permission.SHIPMENT_PICK,
    ShipmentTrigger.CHECK: Permission.SHIPMENT_CHECK,
    ShipmentTrigger.PACK: Permission.SHIPMENT_PACK,
    ShipmentTrigger.HAND_OVER: Permission.SHIPMENT_HAND_OVER,
    ShipmentTrigger.SHIP: Permission.SHIPMENT_SHIP,
    ShipmentTrigger.DECLARE_EXPORT: Permission.SHIPMENT_LEGS,
    ShipmentTrigger.ENTER_CUSTOMS: Permission.SHIPMENT_LEGS,
    ShipmentTrigger.CLEAR_CUSTOMS: Permission.SHIPMENT_LEGS,
    ShipmentTrigger.OUT_FOR_DELIVERY: Permission.SHIPMENT_DELIVER,
    ShipmentTrigger.DELIVER: Permission.SHIPMENT_DELIVER,
    # Carrier events (tracking API and CSV import) are logistics' business too.
    ShipmentTrigger.REFUSE: Permission.SHIPMENT_DELIVER,
    ShipmentTrigger.LOSE: Permission.SHIPMENT_DELIVER,
    # Asking the carrier to stop a parcel already handed over (shipping.handlers.intercept).
    ShipmentTrigger.INTERCEPT: Permission.SHIPMENT_CARRIER,
}


def advance_shipments(
    uow: UnitOfWork,
    *,
    number: str,
    trigger: ShipmentTrigger,
    actor: Actor,
    shipment: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    service: str | None = None,
    override_reason: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Order:
    """Move the order's shipments (or the one named) one step; the order follows its shipments.
    ``data`` is added to each step's event (e.g. whether the carrier confirmed an interception).
    ``at``: when the step happened, if not now (a carrier's scan, ``shipping.tracking.step_time``):
    the events, and so the SLA clocks they start and stop, take that time; the ledger keeps now.
    ``ship`` keeps the booking made at hand-over (``shipping.steps.keep_booking``): other carrier,
    service or tracking number values replace it only with an ``override_reason``."""
    actor.require(SHIPMENT_PERMISSIONS[trigger])
    if override_reason is not None:
        actor.require(Permission.SHIPMENT_CARRIER)
    session, now = uow.session, uow.clock.now()
    at = at or now
    order = load_order(session, number, actor, for_update=True)
    targets = [
        s
        for s in _shipments(session, order)
        if (shipment is None or s.number == shipment)
        and SHIPMENT.can(s.status, trigger)
        and _warehouse_in_scope(session, s, actor)
    ]
    if not targets:
        raise IllegalTransition("order", order.status, f"shipment {trigger}", ORDER.allowed(order.status))
    if tracking_number and len(targets) > 1:
        raise ValidationFailed([Problem("shipment", "tracking_number_shipments",
                                        {"path": "shipment", "count": len(targets), "action": str(trigger)})])
    if trigger == ShipmentTrigger.SHIP:
        # Without a carrier and number in the request, the booking made at hand-over is used.
        missing = [
            name for name, given, booked in (("carrier", carrier, "carrier"), ("tracking_number", tracking_number,
                                             "tracking_number"))
            if not given and any(not getattr(s, booked) for s in targets)
        ]
        if missing:
            raise ValidationFailed(Problem(name, "required", {"path": name}) for name in missing)
    for s in targets:
        step_data: dict[str, Any] = dict(data or {})
        if trigger == ShipmentTrigger.SHIP:
            asked = CarrierValues(carrier or None, service or None, tracking_number or None)
            kept = shipping_steps.keep_booking(uow, s, asked, override_reason=override_reason, actor=actor.name)
            step_data |= {"carrier": kept.carrier, "tracking_number": kept.tracking_number}
            inventory.consume_shipment(session, shipment_id=s.id, actor=actor.name, at=now, reference=s.number)
        elif trigger == ShipmentTrigger.INTERCEPT:
            # Stopped before the tracking upload, the goods are with the carrier all the same: the
            # reservation is consumed (off the shelf), never left open. They come back as a return.
            inventory.consume_shipment(session, shipment_id=s.id, actor=actor.name, at=now, reference=s.number)
        shipments.fire(session, s, trigger, actor=actor.name, at=at, reason=note, data=step_data)
        if trigger == ShipmentTrigger.PACK:
            shipping_steps.after_pack(uow, s, actor=actor.name)
        elif trigger == ShipmentTrigger.HAND_OVER:
            shipping_steps.after_hand_over(uow, s, actor=actor.name, tracking_number=tracking_number)
        elif trigger == ShipmentTrigger.SHIP:
            shipping_steps.after_ship(uow, s, at=at)
    _follow_shipments(uow, order, actor=actor.name, at=at)
    return order


def _warehouse_in_scope(session: Session, shipment: Shipment, actor: Actor) -> bool:
    if not actor.warehouses:
        return True
    return session.scalar(select(Warehouse.code).where(Warehouse.id == shipment.warehouse_id)) in actor.warehouses


def _follow_shipments(uow: UnitOfWork, order: Order, *, actor: str, at: datetime | None = None) -> None:
    statuses = [s.status for s in _shipments(uow.session, order)]
    if order.status == OrderStatus.ALLOCATED and any(s != ShipmentStatus.ALLOCATED for s in statuses):
        transition(uow, order, OrderTrigger.START_FULFILLMENT, actor=actor, at=at)
    progress = rollup(statuses)
    if order.status == OrderStatus.IN_FULFILLMENT and progress in (Rollup.SHIPPED, Rollup.DELIVERED):
        transition(uow, order, OrderTrigger.SHIP, actor=actor, at=at)
    if order.status == OrderStatus.SHIPPED and progress == Rollup.DELIVERED:
        transition(uow, order, OrderTrigger.DELIVER, actor=actor, at=at)
