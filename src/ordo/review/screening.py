"""Automatic review inside the order's own transaction: gather the subject and its history with
indexed look-ups bounded by each rule's time window, ask the pure rules, record the findings,
and apply the decision (reject, hold, queue for people, or clear to confirm).

Called by the order handlers at intake, when payment arrives and when a hold is released; it
imports no order handler, so the order package can call it without a cycle.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, bindparam, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.adapters.db.reference import cached
from ordo.bootstrap import UnitOfWork
from ordo.catalog.queries import sku_views
from ordo.order import lifecycle
from ordo.order.lifecycle import SYSTEM
from ordo.order.states import HoldReason, OrderStatus, OrderTrigger
from ordo.order.tables import Order, OrderLine
from ordo.review import rules as pure
from ordo.review.model import (
    BlacklistKind,
    Decision,
    Finding,
    History,
    KeyKind,
    Listed,
    Outcome,
    Prior,
    Rule,
    RuleKind,
    RuleSet,
    Subject,
)
from ordo.review.tables import BlacklistEntry, ReviewCase, ReviewFinding, ReviewRuleSet, RiskKey

# Holds the rules place themselves; a person's "approve" or a settled finding lifts them.
REVIEW_HOLDS = (HoldReason.DUPLICATE_SUSPECTED, HoldReason.RISK_INTERCEPTED, HoldReason.AWAITING_CUSTOMER)
_DEAD = (OrderStatus.CANCELLED, OrderStatus.CLOSED)
_SCREENED = (OrderStatus.PENDING_PAYMENT, OrderStatus.PENDING_REVIEW, OrderStatus.ON_HOLD)


# --- rule set -------------------------------------------------------------------------------------


def current_rules(uow: UnitOfWork) -> RuleSet:
    """The newest stored version, or the policy defaults as version 0 (from the process's
    reference copies where it has them)."""
    def load(session: Session) -> RuleSet:
        row = session.execute(
            select(ReviewRuleSet.version, ReviewRuleSet.rules).order_by(ReviewRuleSet.version.desc()).limit(1)
        ).first()
        if row is None:
            return pure.default_rules(uow.policy)
        return RuleSet(version=row.version, rules=tuple(Rule.model_validate(r) for r in row.rules))

    return cached(uow.session, ("review_rules",), load)


# --- keys and history -----------------------------------------------------------------------------


def order_keys(uow: UnitOfWork, order: Order) -> dict[KeyKind, str]:
    """The digests an order is looked up by: account, delivery address, phone, e-mail."""
    address = pure.normalise_address(
        country=order.country, province=order.province, city=order.city, district=order.district,
        street=order.street, policy=uow.policy.risk,
    )
    return pure.keys_of({
        KeyKind.ACCOUNT: pure.normalise_account(order.channel, order.account, order.customer_id),
        KeyKind.ADDRESS: address,
        KeyKind.PHONE: order.phone,
        KeyKind.EMAIL: order.email,
    })


_INDEXED = select(RiskKey.id).where(RiskKey.order_id == bindparam("order_id")).limit(1)


def _index(session: Session, order: Order, keys: dict[KeyKind, str], *, fresh: bool) -> None:
    connection = prepared.connection(session)
    if fresh or prepared.execute(connection, _INDEXED, {"order_id": order.id}).first() is None:
        prepared.insert_rows(connection, RiskKey.__table__, [
            {"kind": kind.value, "digest": value, "order_id": order.id, "at": order.created_at}
            for kind, value in keys.items() if kind != KeyKind.EMAIL
        ])


def record_cancellation(uow: UnitOfWork, order: Order) -> None:
    """Count a cancellation against the account (frequent cancel-and-reorder)."""
    keys = order_keys(uow, order)
    uow.session.add(RiskKey(kind=KeyKind.CANCEL.value, digest=keys[KeyKind.ACCOUNT], order_id=order.id,
                            at=uow.clock.now()))


def _windows(rules: RuleSet) -> dict[KeyKind, timedelta]:
    """How far back each key must be read: the longest window of the enabled rules using it."""
    reach: dict[KeyKind, timedelta] = {}

    def need(kind: KeyKind, window: timedelta | None) -> None:
        if window is not None:
            reach[kind] = max(reach.get(kind, window), window)

    for rule in rules.rules:
        if not rule.enabled:
            continue
        if rule.kind == RuleKind.DUPLICATE:
            need(KeyKind.ACCOUNT, rule.params.window)
            need(KeyKind.ADDRESS, rule.params.window)
        elif rule.kind == RuleKind.SAME_CONTACT:
            need(KeyKind.PHONE, rule.params.window)
            need(KeyKind.ADDRESS, rule.params.window)
        elif rule.kind == RuleKind.CANCEL_REORDER:
            need(KeyKind.CANCEL, rule.params.window)
    return reach


@cache
def _history_statement(prior_kinds: tuple[str, ...], listed_kinds: tuple[str, ...]) -> Select[Any] | CompoundSelect:
    """One read of an order's history, built once per shape: the earlier orders sharing any of
    ``prior_kinds``' keys within each one's window (per kind ``digest_<kind>``, ``since_<kind>``; and
    ``until``, ``order_id``), and the blacklist entries in force for any of ``listed_kinds``
    (``listed_<kind>`` each). An entry's rows have its ``entry_id``, a prior's have none."""
    parts = []
    if prior_kinds:
        parts.append(
            select(RiskKey.kind, RiskKey.order_id, RiskKey.at, Order.number, Order.status,
                   null().label("reason"), null().label("entry_id"))
            .join(Order, Order.id == RiskKey.order_id)
            .where(or_(*(and_(RiskKey.kind == kind, RiskKey.digest == bindparam(f"digest_{kind}"),
                              RiskKey.at >= bindparam(f"since_{kind}"), RiskKey.at <= bindparam("until"))
                         for kind in prior_kinds)),
                   RiskKey.order_id != bindparam("order_id")))
    if listed_kinds:
        parts.append(
            select(BlacklistEntry.kind, null(), null(), null(), null(), BlacklistEntry.reason,
                   BlacklistEntry.id.label("entry_id"))
            .where(BlacklistEntry.removed_at.is_(None),
                   or_(*(and_(BlacklistEntry.kind == kind, BlacklistEntry.digest == bindparam(f"listed_{kind}"))
                         for kind in listed_kinds))))
    return parts[0] if len(parts) == 1 else union_all(*parts)


_SHARED_SKUS = select(OrderLine.order_id, OrderLine.sku_code).where(
    OrderLine.order_id.in_(bindparam("order_ids", expanding=True)),
    OrderLine.sku_id.in_(bindparam("sku_ids", expanding=True)))


def _history(session: Session, order: Order, keys: dict[KeyKind, str], rules: RuleSet, skus: set[int]) -> History:
    params: dict[str, Any] = {"until": order.created_at, "order_id": order.id}
    kinds = []
    for kind, window in _windows(rules).items():
        digest = keys[KeyKind.ACCOUNT] if kind == KeyKind.CANCEL else keys.get(kind)
        if digest:
            kinds.append(kind.value)
            params[f"digest_{kind.value}"], params[f"since_{kind.value}"] = digest, order.created_at - window
    listed: list[str] = []
    if any(r.enabled and r.kind == RuleKind.BLACKLIST for r in rules.rules):
        for kind, key in ((BlacklistKind.ACCOUNT, KeyKind.ACCOUNT), (BlacklistKind.PHONE, KeyKind.PHONE),
                          (BlacklistKind.ADDRESS, KeyKind.ADDRESS), (BlacklistKind.EMAIL, KeyKind.EMAIL)):
            if keys.get(key):
                listed.append(kind.value)
                params[f"listed_{kind.value}"] = keys[key]
    if not kinds and not listed:
        return History(priors=(), blacklisted=())
    connection = prepared.connection(session)
    rows = prepared.execute(connection, _history_statement(tuple(kinds), tuple(listed)), params)
    found = [r for r in rows if r.entry_id is None]
    ids = sorted({r.order_id for r in found if r.kind != KeyKind.CANCEL})
    shared: dict[int, set[str]] = {}
    if ids and skus:
        for order_id, code in prepared.execute(connection, _SHARED_SKUS,
                                               {"order_ids": ids, "sku_ids": sorted(skus)}):
            shared.setdefault(order_id, set()).add(code)
    priors = tuple(
        Prior(kind=KeyKind(r.kind), number=r.number, at=r.at, live=r.status not in _DEAD,
              skus=frozenset(shared.get(r.order_id, ())))
        for r in found
    )
    hits = sorted((r for r in rows if r.entry_id is not None), key=lambda r: r.entry_id)
    blacklisted = tuple(Listed(kind=BlacklistKind(h.kind), reason=h.reason, entry_id=h.entry_id) for h in hits)
    return History(priors=priors, blacklisted=blacklisted)


def subject_of(session: Session, order: Order, keys: dict[KeyKind, str]) -> Subject:
    traits: set[str] = set()
    for sku in sku_views(session, (line.sku_id for line in order.lines)).values():
        traits.update(sku.traits)
    return Subject(
        number=order.number, at=order.created_at, total=order.total, order_class=order.order_class,
        service_type=order.service_type, payment_method=order.payment_method, remote_area=order.remote_area,
        phone=order.phone, remark=order.remark, skus=frozenset(line.sku_code for line in order.lines),
        traits=frozenset(traits), keys=keys,
    )


# --- screening ------------------------------------------------------------------------------------


def screen(uow: UnitOfWork, order: Order, *, fresh: bool = False) -> Decision:
    """Run the rules, record new findings, apply the decision. Findings a person has settled stay
    settled even if their rule fires again; the decision counts only the open ones. ``fresh``: the
    order was created in this transaction, so it has no keys or findings yet to look up."""
    session, now = uow.session, uow.clock.now()
    rules = current_rules(uow)
    keys = order_keys(uow, order)
    _index(session, order, keys, fresh=fresh)
    history = _history(session, order, keys, rules, {line.sku_id for line in order.lines})
    fired = pure.evaluate(subject_of(session, order, keys), history, rules)
    stored: dict[str, ReviewFinding] = {} if fresh else {
        f.rule: f for f in session.scalars(select(ReviewFinding).where(ReviewFinding.order_id == order.id))}
    for f in fired:
        if f.rule not in stored:
            row = _store(order, f, rules.version, now)
            session.add(row)
            stored[f.rule] = row
            if f.notify_customer:
                lifecycle.note(uow, order, "review.intercepted", actor=SYSTEM, reason=f.rule)
    open_findings = [_as_finding(r) for r in stored.values() if r.cleared_at is None]
    decision = replace(pure.decide(open_findings), rule_set_version=rules.version)
    apply(uow, order, decision, fresh=fresh)
    return decision


def _store(order: Order, f: Finding, version: int, now: datetime) -> ReviewFinding:
    return ReviewFinding(
        order_id=order.id, customer_id=order.customer_id, rule=f.rule, kind=f.kind.value, outcome=f.outcome.value,
        hold_reason=f.hold_reason.value if f.hold_reason else None, score=f.score, message=f.message,
        evidence=f.evidence, related_orders=list(f.related), cleared_by_contact=f.cleared_by_contact,
        rule_set_version=version, found_at=now,
    )


def _as_finding(row: ReviewFinding) -> Finding:
    return Finding(
        rule=row.rule, kind=RuleKind(row.kind), outcome=Outcome(row.outcome), score=row.score, message=row.message,
        evidence=row.evidence, hold_reason=HoldReason(row.hold_reason) if row.hold_reason else None,
        cleared_by_contact=row.cleared_by_contact, related=tuple(row.related_orders or ()),
    )


def open_decision(uow: UnitOfWork, order: Order) -> Decision:
    rows = uow.session.scalars(
        select(ReviewFinding).where(ReviewFinding.order_id == order.id, ReviewFinding.cleared_at.is_(None))
    )
    return replace(pure.decide(_as_finding(r) for r in rows), rule_set_version=current_rules(uow).version)


def apply(uow: UnitOfWork, order: Order, decision: Decision, *, fresh: bool = False) -> None:
    """Bring the order in line with the decision: reject, place or lift the rules' holds, open or
    close the review case. Every event it writes carries the decision's rule-set version and outcome.
    ``fresh``: the order was created in this transaction and has no case to close."""
    if order.status not in _SCREENED:
        return
    data = decision.record()
    if decision.outcome == Outcome.REJECT:
        lifecycle.release_holds(order, at=uow.clock.now(), actor=SYSTEM)
        lifecycle.transition(uow, order, OrderTrigger.REJECT, actor=SYSTEM, reason=", ".join(decision.rules), data=data)
        order.status_before_hold = None
        close_case(uow, order, status="rejected", by=SYSTEM, note=", ".join(decision.rules),
                   version=decision.rule_set_version)
        return
    for reason in decision.hold_reasons:
        lifecycle.place_hold(uow, order, reason, actor=SYSTEM, comment=", ".join(decision.rules), data=data)
    for hold in list(lifecycle.holds_of(order)):
        if (
            hold.released_at is None and hold.placed_by == SYSTEM and hold.reason in REVIEW_HOLDS
            and hold.reason not in decision.hold_reasons and hold.reason != HoldReason.AWAITING_CUSTOMER
        ):
            lifecycle.lift_hold(uow, order, HoldReason(hold.reason), actor=SYSTEM, comment="findings settled")
    if decision.levels:
        open_case(uow, order, decision)
    elif not fresh:
        close_case(uow, order, status="approved", by=SYSTEM, note="automatic review",
                   version=decision.rule_set_version)


def class_rank(uow: UnitOfWork, order_class: str) -> int:
    order = uow.policy.review.class_priority
    return order.index(order_class) if order_class in order else len(order)


def open_case(uow: UnitOfWork, order: Order, decision: Decision) -> ReviewCase:
    session, now = uow.session, uow.clock.now()
    case = session.scalars(select(ReviewCase).where(ReviewCase.order_id == order.id)).one_or_none()
    rules = ",".join(decision.rules)
    if case is None:
        case = ReviewCase(
            order_id=order.id, shop_id=order.shop_id, status="open", vip_level=order.vip_level,
            class_rank=class_rank(uow, order.order_class), levels=decision.levels, rules=rules,
            score=decision.score, rule_set_version=decision.rule_set_version, opened_at=now,
        )
        session.add(case)
        session.flush()
        lifecycle.note(uow, order, "review.queued", actor=SYSTEM, reason=rules,
                       data={"levels": decision.levels, **decision.record()})
        return case
    if case.status != "open":
        case.status, case.opened_at, case.decided_at, case.decided_by = "open", now, None, None
        case.claimed_by = case.claimed_at = None
        case.first_approved_by = case.first_approved_at = None
        lifecycle.note(uow, order, "review.queued", actor=SYSTEM, reason=rules,
                       data={"levels": decision.levels, **decision.record()})
    case.levels, case.rules, case.score = max(case.levels, decision.levels), rules, decision.score
    case.rule_set_version = decision.rule_set_version
    return case


def close_case(uow: UnitOfWork, order: Order, *, status: str, by: str, note: str | None,
               version: int | None = None) -> None:
    """Close the open case; ``version``: the rule set that decided, when the rules closed it."""
    values = {"status": status, "decided_by": by, "decided_at": uow.clock.now(), "decision_note": note,
              "claimed_by": None, "claimed_at": None}
    if version is not None:
        values["rule_set_version"] = version
    uow.session.execute(
        update(ReviewCase).where(ReviewCase.order_id == order.id, ReviewCase.status == "open").values(**values)
    )

