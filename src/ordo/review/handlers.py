"""What reviewers do: claim, approve (one or two levels), reject, ask the customer, record contact
attempts and answers; the silent-customer scan; batch decisions; rule and blacklist admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.kernel.checks import problems_of
from ordo.kernel.errors import Conflict, IllegalTransition, NotFound, OrdoError, Problem, ValidationFailed
from ordo.order import handlers as orders
from ordo.order import lifecycle
from ordo.order.lifecycle import SYSTEM, load_order
from ordo.order.rules import normalise_email, normalise_phone
from ordo.order.states import ORDER, HoldReason, OrderStatus, OrderTrigger
from ordo.order.tables import Order
from ordo.review import rules as pure
from ordo.review import screening
from ordo.review.model import BlacklistKind, KeyKind, RuleParams
from ordo.review.tables import BlacklistEntry, ReviewCase, ReviewContact, ReviewRuleSet

# --- the case ------------------------------------------------------------------------------------


def _case(uow: UnitOfWork, order: Order, *, for_update: bool = False) -> ReviewCase:
    statement = select(ReviewCase).where(ReviewCase.order_id == order.id, ReviewCase.status == "open")
    if for_update:
        statement = statement.with_for_update()
    case = uow.session.scalars(statement).one_or_none()
    if case is None:
        raise Conflict("review_not_open", number=order.number)
    return case


def _claim_lapsed(uow: UnitOfWork, case: ReviewCase) -> bool:
    return case.claimed_at is None or case.claimed_at <= uow.clock.now() - uow.policy.review.claim_timeout


def _not_claimed_by_other(uow: UnitOfWork, case: ReviewCase, order: Order, actor: Actor) -> None:
    if case.claimed_by and case.claimed_by != actor.name and not _claim_lapsed(uow, case):
        raise Conflict("review_claimed", number=order.number, by=case.claimed_by)


def claim(uow: UnitOfWork, *, number: str, actor: Actor) -> ReviewCase:
    """Take the order so that nobody else works on it. One conditional UPDATE: of two reviewers
    racing, exactly one changes the row; the other is told who has it."""
    actor.require(Permission.ORDER_REVIEW)
    # The order row first, like every order command: taking the case first deadlocks with them.
    order = load_order(uow.session, number, actor, for_update=True)
    now = uow.clock.now()
    lapsed = now - uow.policy.review.claim_timeout
    won = uow.session.execute(
        update(ReviewCase)
        .where(
            ReviewCase.order_id == order.id,
            ReviewCase.status == "open",
            or_(ReviewCase.claimed_by.is_(None), ReviewCase.claimed_by == actor.name, ReviewCase.claimed_at <= lapsed),
        )
        .values(claimed_by=actor.name, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    case = uow.session.scalars(select(ReviewCase).where(ReviewCase.order_id == order.id)).one_or_none()
    if case is None or case.status != "open":
        raise Conflict("review_not_open", number=number)
    uow.session.refresh(case)
    if not won:
        raise Conflict("review_claimed", number=number, by=case.claimed_by or "-")
    lifecycle.note(uow, order, "review.claimed", actor=actor.name)
    return case


def unclaim(uow: UnitOfWork, *, number: str, actor: Actor) -> None:
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    case = _case(uow, order)
    _not_claimed_by_other(uow, case, order, actor)
    case.claimed_by = case.claimed_at = None


def approve(uow: UnitOfWork, *, number: str, actor: Actor, note: str | None = None) -> Order:
    """Approve the order. With an open case: checks the claim and the two levels; the last level
    settles every finding, lifts the rules' holds and confirms. Without one: a plain confirmation."""
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    case = uow.session.scalars(
        select(ReviewCase).where(ReviewCase.order_id == order.id, ReviewCase.status == "open")
    ).one_or_none()
    if case is None:
        return orders.confirm(uow, number=number, actor=actor, note=note)
    _not_claimed_by_other(uow, case, order, actor)
    if not (order.status == OrderStatus.ON_HOLD or ORDER.can(order.status, OrderTrigger.CONFIRM)
            or order.status == OrderStatus.PENDING_PAYMENT):
        raise Conflict("review_not_open", number=number)
    now = uow.clock.now()
    if case.levels >= 2 and case.first_approved_by is None:
        case.first_approved_by, case.first_approved_at = actor.name, now
        case.claimed_by = case.claimed_at = None
        lifecycle.note(uow, order, "review.first_approved", actor=actor.name, reason=note)
        return order
    if case.levels >= 2:
        actor.require(Permission.ORDER_REVIEW_SECOND)
        if case.first_approved_by == actor.name:
            raise Conflict("second_review_same_person", number=number, by=actor.name)
    orders.settle_findings(uow, order, actor=actor.name)
    screening.close_case(uow, order, status="approved", by=actor.name, note=note)
    lifecycle.note(uow, order, "review.approved", actor=actor.name, reason=note, data={"levels": case.levels})
    resumed = True
    for reason in screening.REVIEW_HOLDS:
        if lifecycle.active_hold(order, reason) is not None:
            resumed = lifecycle.lift_hold(uow, order, reason, actor=actor.name, comment=note)
    if resumed and order.status == OrderStatus.PENDING_REVIEW:
        lifecycle.transition(uow, order, OrderTrigger.CONFIRM, actor=actor.name, reason=note)
    orders.auto_progress(uow, order)
    return order


def reject(uow: UnitOfWork, *, number: str, actor: Actor, reason: str, blacklist: bool = False) -> Order:
    """Refuse the order (from review, payment or hold); optionally blacklist its account and phone."""
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    case = uow.session.scalars(
        select(ReviewCase).where(ReviewCase.order_id == order.id, ReviewCase.status == "open")
    ).one_or_none()
    if case is not None:
        _not_claimed_by_other(uow, case, order, actor)
    if blacklist:
        actor.require(Permission.RISK_BLACKLIST)
    if not ORDER.can(order.status, OrderTrigger.REJECT):
        raise IllegalTransition("order", order.status, OrderTrigger.REJECT, ORDER.allowed(order.status))
    lifecycle.release_holds(order, at=uow.clock.now(), actor=actor.name)
    lifecycle.transition(uow, order, OrderTrigger.REJECT, actor=actor.name, reason=reason)
    order.status_before_hold = None
    screening.close_case(uow, order, status="rejected", by=actor.name, note=reason)
    if blacklist:
        keys = screening.order_keys(uow, order)
        account = pure.normalise_account(order.channel, order.account, order.customer_id)
        _add_entry(uow, kind=BlacklistKind.ACCOUNT, value=account, key=keys[KeyKind.ACCOUNT],
                   reason=f"{reason} ({order.number})", actor=actor)
        if order.phone:
            _add_entry(uow, kind=BlacklistKind.PHONE, value=order.phone, key=keys[KeyKind.PHONE],
                       reason=f"{reason} ({order.number})", actor=actor)
    return order


# --- customer contact ---------------------------------------------------------------------------

CONTACT_CHANNELS = ("phone", "sms", "email", "chat")


def contact(
    uow: UnitOfWork, *, number: str, actor: Actor, channel: str, note: str | None = None,
    at: datetime | None = None, hold: bool = False,
) -> ReviewContact:
    """Record a contact attempt. ``hold`` puts the order on hold at once ("ask the customer");
    otherwise the silent-customer scan holds it when the policy limit passes without an answer."""
    actor.require(Permission.ORDER_REVIEW)
    if channel not in CONTACT_CHANNELS:
        raise ValidationFailed([Problem("channel", "one_of", {"path": "channel", "value": channel,
                                                              "allowed": ", ".join(CONTACT_CHANNELS)})])
    order = load_order(uow.session, number, actor, for_update=True)
    if order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.ON_HOLD):
        raise Conflict("review_not_open", number=number)
    now = uow.clock.now()
    attempted = at or now
    if attempted > now:
        raise ValidationFailed([Problem("at", "in_future", {"path": "at", "value": attempted.isoformat()})])
    row = ReviewContact(order_id=order.id, channel=channel, note=note, attempted_at=attempted,
                        attempted_by=actor.name, state="waiting")
    uow.session.add(row)
    lifecycle.note(uow, order, "review.contacted", actor=actor.name, reason=channel, data={"note": note})
    if hold:
        lifecycle.place_hold(uow, order, HoldReason.AWAITING_CUSTOMER, actor=actor.name, comment=note)
        row.state = "held"
    uow.session.flush()
    return row


def answer(uow: UnitOfWork, *, number: str, actor: Actor, note: str | None = None) -> Order:
    """The customer answered: settle what an answer settles, lift the waiting hold, review again."""
    actor.require(Permission.ORDER_REVIEW)
    order = load_order(uow.session, number, actor, for_update=True)
    waiting = uow.session.scalars(
        select(ReviewContact).where(ReviewContact.order_id == order.id, ReviewContact.state.in_(("waiting", "held")))
    ).all()
    if not waiting:
        raise Conflict("no_contact_waiting", number=number)
    now = uow.clock.now()
    for row in waiting:
        row.state, row.answered_at, row.answered_by, row.answer = "answered", now, actor.name, note
    orders.settle_findings(uow, order, actor=actor.name, by_contact=True)
    lifecycle.note(uow, order, "review.answered", actor=actor.name, data={"note": note})
    if lifecycle.active_hold(order, HoldReason.AWAITING_CUSTOMER) is not None:
        lifecycle.lift_hold(uow, order, HoldReason.AWAITING_CUSTOMER, actor=actor.name, comment=note)
    if order.status == OrderStatus.ON_HOLD:
        # The rules' holds whose findings the answer settled are lifted by the automatic review.
        screening.apply(uow, order, screening.open_decision(uow, order))
    if order.status != OrderStatus.ON_HOLD:
        orders.auto_progress(uow, order)
    return order


def scan_silent(uow: UnitOfWork, *, limit: int = 500) -> list[str]:
    """Put on hold every order whose customer has not answered a contact attempt within the policy
    limit ("customer silent after contact → order put on hold"). Safe to run from several workers
    and beside order commands: the orders are locked first, as every order command does, without
    waiting (a busy order is left for the next round); then each contact row is taken by a
    conditional UPDATE."""
    now = uow.clock.now()
    silent_for = uow.policy.time_limits["customer_silent_hold"].limit
    due = uow.session.execute(
        select(ReviewContact.id, ReviewContact.order_id)
        .where(ReviewContact.state == "waiting", ReviewContact.attempted_at <= now - silent_for)
        .order_by(ReviewContact.attempted_at)
        .limit(limit)
    ).all()
    locked = lifecycle.lock_orders_not_busy(uow.session, {order_id for _, order_id in due})
    held: list[str] = []
    for contact_id, order_id in due:
        order = locked.get(order_id)
        if order is None:
            continue
        taken = uow.session.execute(
            update(ReviewContact).where(ReviewContact.id == contact_id, ReviewContact.state == "waiting")
            .values(state="held").execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            continue
        if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.ON_HOLD) and \
                lifecycle.place_hold(uow, order, HoldReason.AWAITING_CUSTOMER, actor=SYSTEM,
                                     comment=f"no answer within {silent_for}"):
            held.append(order.number)
    return held


# --- batch ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    number: str
    ok: bool
    status: str | None = None
    code: str | None = None
    detail: str | None = None


def batch(
    ordo: Ordo, *, action: str, numbers: list[str], actor: Actor, reason: str | None, note: str | None,
    language: str,
) -> list[BatchResult]:
    """Approve or reject many orders; each in its own transaction, so one refusal stops nothing."""
    from ordo.kernel.i18n import translate

    if action not in ("approve", "reject"):
        raise ValidationFailed([Problem("action", "one_of", {"path": "action", "value": action,
                                                             "allowed": "approve, reject"})])
    if action == "reject" and not (reason and reason.strip()):
        raise ValidationFailed([Problem("reason", "required", {"path": "reason"})])
    if not numbers:
        raise ValidationFailed([Problem("numbers", "required", {"path": "numbers"})])
    if len(numbers) > ordo.policy.review.max_batch:
        raise ValidationFailed([Problem("numbers", "too_many", {"path": "numbers", "max": ordo.policy.review.max_batch,
                                                                "count": len(numbers)})])
    results: list[BatchResult] = []
    for number in dict.fromkeys(numbers):
        try:
            if action == "approve":
                order = ordo.run(approve, number=number, actor=actor, note=note)
            else:
                order = ordo.run(reject, number=number, actor=actor, reason=str(reason))
            results.append(BatchResult(number=number, ok=True, status=order.status))
        except OrdoError as exc:
            results.append(BatchResult(number=number, ok=False, code=exc.code,
                                       detail=translate(exc.key, language, exc.params)))
    return results


# --- rules admin ---------------------------------------------------------------------------------


def update_rule(
    uow: UnitOfWork, *, code: str, actor: Actor, enabled: bool | None = None, score: int | None = None,
    params: dict[str, Any] | None = None, note: str | None = None,
) -> int:
    """Change one rule; the whole set is stored again as the next version. Returns the version."""
    actor.require(Permission.REVIEW_ADMIN)
    current = screening.current_rules(uow)
    rule = current.get(code)
    if rule is None:
        raise NotFound("review rule", code)
    changes: dict[str, Any] = {}
    if enabled is not None:
        changes["enabled"] = enabled
    if score is not None:
        changes["score"] = score
    if params:
        unknown = sorted(set(params) - set(RuleParams.model_fields))
        try:
            changes["params"] = RuleParams.model_validate(rule.params.model_dump() | params)
        except ValidationError as exc:
            problems = problems_of(exc, "params")
        else:
            problems = []
        problems += [Problem(f"params.{k}", "unknown_field", {"path": f"params.{k}"}) for k in unknown
                     if not any(p.path == f"params.{k}" for p in problems)]
        if problems:
            raise ValidationFailed(problems)
    updated = rule.model_copy(update=changes)
    version = current.version + 1
    uow.session.add(ReviewRuleSet(
        version=version,
        rules=[(updated if r.code == code else r).model_dump(mode="json") for r in current.rules],
        created_at=uow.clock.now(), created_by=actor.name, note=note or f"{code}: {', '.join(sorted(changes))}",
    ))
    try:
        uow.session.flush()
    except IntegrityError as exc:  # another admin saved the same version first
        raise Conflict("review_rules_changed", version=version) from exc
    return version


# --- blacklist -----------------------------------------------------------------------------------


def normalise_entry(uow: UnitOfWork, kind: BlacklistKind, value: str) -> str:
    """The value as orders are keyed: E.164 phones, normalised e-mails, accounts as channel:account
    (or customer:id)."""
    text = value.strip()
    if kind == BlacklistKind.PHONE:
        phone, problem, params = normalise_phone(text, uow.policy.intake.home_country)
        if phone is None:
            raise ValidationFailed([Problem("value", problem or "phone_invalid", {"path": "value", **params})])
        return phone
    if kind == BlacklistKind.EMAIL:
        email = normalise_email(text)
        if email is None:
            raise ValidationFailed([Problem("value", "email_invalid", {"path": "value", "value": value})])
        return email
    if ":" not in text:
        raise ValidationFailed([Problem("value", "account_format", {"path": "value", "value": value})])
    channel, _, account = text.partition(":")
    return f"customer:{account.strip()}" if channel == "customer" else f"{channel.strip()}:{pure.squash(account)}"


def _add_entry(
    uow: UnitOfWork, *, kind: BlacklistKind, value: str, key: str, reason: str, actor: Actor
) -> BlacklistEntry:
    existing = uow.session.scalars(
        select(BlacklistEntry).where(and_(BlacklistEntry.kind == kind.value, BlacklistEntry.digest == key,
                                          BlacklistEntry.removed_at.is_(None)))
    ).first()
    if existing is not None:
        return existing
    entry = BlacklistEntry(kind=kind.value, value=value, digest=key, reason=reason, added_by=actor.name,
                           added_at=uow.clock.now())
    uow.session.add(entry)
    uow.session.flush()
    return entry


def add_to_blacklist(
    uow: UnitOfWork, *, kind: BlacklistKind, reason: str, actor: Actor, value: str | None = None,
    address: dict[str, str | None] | None = None,
) -> BlacklistEntry:
    """List an account, phone, e-mail or address, normalised as orders are keyed (so that another
    spelling of the same value is caught too)."""
    actor.require(Permission.RISK_BLACKLIST)
    if not reason.strip():
        raise ValidationFailed([Problem("reason", "required", {"path": "reason"})])
    if kind == BlacklistKind.ADDRESS:
        if not address or not address.get("street"):
            raise ValidationFailed([Problem("address.street", "required", {"path": "address.street"})])
        normal = pure.normalise_address(
            country=address.get("country"), province=address.get("province"), city=address.get("city"),
            district=address.get("district"), street=address.get("street"), policy=uow.policy.risk,
        )
    else:
        if not value or not value.strip():
            raise ValidationFailed([Problem("value", "required", {"path": "value"})])
        normal = normalise_entry(uow, kind, value)
    return _add_entry(uow, kind=kind, value=normal, key=pure.digest(normal), reason=reason.strip(), actor=actor)


def remove_from_blacklist(uow: UnitOfWork, *, entry_id: int, actor: Actor) -> BlacklistEntry:
    actor.require(Permission.RISK_BLACKLIST)
    entry = uow.session.get(BlacklistEntry, entry_id)
    if entry is None or entry.removed_at is not None:
        raise NotFound("blacklist entry", str(entry_id))
    entry.removed_at, entry.removed_by = uow.clock.now(), actor.name
    return entry
