"""Reading review data: the queue, an order's review (case, findings, contacts), rules, blacklist."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.audit.tables import Event
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.channel.tables import Shop
from ordo.kernel.i18n import translate
from ordo.order.tables import Order
from ordo.review import screening
from ordo.review.schemas import (
    BlacklistRead,
    CaseRead,
    ContactRead,
    DecisionRead,
    FindingRead,
    QueueItem,
    QueuePage,
    ReviewRead,
    RuleRead,
    RuleSetRead,
    RuleVersionRead,
)
from ordo.review.tables import BlacklistEntry, ReviewCase, ReviewContact, ReviewFinding, ReviewRuleSet

# An order's review is read with statements built once, answering plain rows (prepared): nothing
# read here is changed, and each ORM read would cost more Python than its query.
_FINDINGS = (select(ReviewFinding.order_id, ReviewFinding.rule, ReviewFinding.kind, ReviewFinding.outcome,
                    ReviewFinding.score, ReviewFinding.message, ReviewFinding.evidence, ReviewFinding.related_orders,
                    ReviewFinding.rule_set_version, ReviewFinding.found_at, ReviewFinding.cleared_at,
                    ReviewFinding.cleared_by)
             .where(ReviewFinding.order_id.in_(bindparam("order_ids", expanding=True))).order_by(ReviewFinding.id))
_CASE = select(ReviewCase.status, ReviewCase.levels, ReviewCase.rules, ReviewCase.score, ReviewCase.rule_set_version,
               ReviewCase.opened_at, ReviewCase.claimed_by, ReviewCase.claimed_at, ReviewCase.first_approved_by,
               ReviewCase.decided_by, ReviewCase.decided_at, ReviewCase.decision_note,
               ).where(ReviewCase.order_id == bindparam("order_id"))
_CONTACTS = (select(ReviewContact.channel, ReviewContact.note, ReviewContact.attempted_at, ReviewContact.attempted_by,
                    ReviewContact.state, ReviewContact.answered_at, ReviewContact.answer)
             .where(ReviewContact.order_id == bindparam("order_id")).order_by(ReviewContact.id))
_DECISIONS = (select(Event.name, Event.data, Event.created_at)
              .where(Event.order_id == bindparam("order_id"), Event.actor == screening.SYSTEM)
              .order_by(Event.id.desc()))


class EventRow(Protocol):
    """What the review reads of an event: an ``Event`` or a row of its columns."""

    @property
    def name(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def data(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> datetime: ...


def _finding(row: Any, locale: str) -> FindingRead:
    return FindingRead(
        rule=row.rule, kind=row.kind, outcome=row.outcome, score=row.score,
        message=translate(row.message, locale, row.evidence), evidence=row.evidence,
        related_orders=list(row.related_orders or ()), rule_set_version=row.rule_set_version,
        found_at=row.found_at, cleared_at=row.cleared_at, cleared_by=row.cleared_by,
    )


def _findings(session: Session, order_ids: list[int], locale: str) -> dict[int, list[FindingRead]]:
    found: dict[int, list[FindingRead]] = {}
    if order_ids:
        for row in prepared.execute(prepared.connection(session), _FINDINGS, {"order_ids": order_ids}):
            found.setdefault(row.order_id, []).append(_finding(row, locale))
    return found


def latest_decision(session: Session, order_id: int,
                    events: Sequence[EventRow] | None = None) -> DecisionRead | None:
    """The newest event the automatic review wrote its decision into (see ``Decision.record``);
    ``events``: the order's events in id order, when the caller has read them already."""
    newest_first: Iterable[Any] = (
        prepared.execute(prepared.connection(session), _DECISIONS, {"order_id": order_id})
        if events is None
        else (e for e in reversed(events) if e.actor == screening.SYSTEM)
    )
    for e in newest_first:
        data = e.data or {}
        if "rule_set_version" in data and "outcome" in data:
            return DecisionRead(rule_set_version=data["rule_set_version"], outcome=data["outcome"],
                                rules=data.get("rules", []), score=data.get("score", 0), at=e.created_at,
                                event=e.name)
    return None


def review_of(session: Session, order_id: int, locale: str,
              events: Sequence[EventRow] | None = None) -> ReviewRead:
    connection = prepared.connection(session)
    case = prepared.execute(connection, _CASE, {"order_id": order_id}).first()
    contacts = prepared.execute(connection, _CONTACTS, {"order_id": order_id})
    return ReviewRead(
        decision=latest_decision(session, order_id, events),
        case=None if case is None else CaseRead(
            status=case.status, levels=case.levels, rules=[r for r in case.rules.split(",") if r], score=case.score,
            rule_set_version=case.rule_set_version,
            opened_at=case.opened_at, claimed_by=case.claimed_by, claimed_at=case.claimed_at,
            first_approved_by=case.first_approved_by, decided_by=case.decided_by, decided_at=case.decided_at,
            decision_note=case.decision_note,
        ),
        findings=_findings(session, [order_id], locale).get(order_id, []),
        contacts=[
            ContactRead(channel=c.channel, note=c.note, attempted_at=c.attempted_at, attempted_by=c.attempted_by,
                        state=c.state, answered_at=c.answered_at, answer=c.answer)
            for c in contacts
        ],
    )


@dataclass(frozen=True)
class QueueFilter:
    reason: str | None = None  # a rule code, e.g. duplicate, same_contact, second_review
    shop: str | None = None
    reviewer: str | None = None  # claimed by
    level: int | None = None  # 2: waiting for the department head


def queue(session: Session, actor: Actor, f: QueueFilter, *, limit: int, offset: int, locale: str) -> QueuePage:
    """Open cases, VIP first, then order class (policy order), then the oldest."""
    actor.require(Permission.ORDER_REVIEW)
    statement = (
        select(ReviewCase, Order.number, Order.status, Order.total, Order.currency, Order.order_class, Shop.code)
        .join(Order, Order.id == ReviewCase.order_id)
        .join(Shop, Shop.id == ReviewCase.shop_id)
        .where(ReviewCase.status == "open")
    )
    if actor.shops:
        statement = statement.where(Shop.code.in_(sorted(actor.shops)))
    if f.shop:
        statement = statement.where(Shop.code == f.shop)
    if f.reviewer:
        statement = statement.where(ReviewCase.claimed_by == f.reviewer)
    if f.level == 2:
        statement = statement.where(ReviewCase.levels >= 2, ReviewCase.first_approved_by.is_not(None))
    elif f.level == 1:
        statement = statement.where(ReviewCase.first_approved_by.is_(None))
    if f.reason:
        statement = statement.where(
            exists().where(ReviewFinding.order_id == ReviewCase.order_id, ReviewFinding.rule == f.reason,
                           ReviewFinding.cleared_at.is_(None))
        )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(ReviewCase.vip_level.desc(), ReviewCase.class_rank, ReviewCase.opened_at, ReviewCase.id)
        .limit(limit).offset(offset)
    ).all()
    findings = _findings(session, [r.ReviewCase.order_id for r in rows], locale)
    items = [
        QueueItem(
            number=r.number, shop=r.code, status=r.status, total=r.total, currency=r.currency,
            vip_level=r.ReviewCase.vip_level, order_class=r.order_class, waiting_since=r.ReviewCase.opened_at,
            levels=r.ReviewCase.levels, level=2 if r.ReviewCase.first_approved_by else 1,
            rules=[x for x in r.ReviewCase.rules.split(",") if x], score=r.ReviewCase.score,
            claimed_by=r.ReviewCase.claimed_by, first_approved_by=r.ReviewCase.first_approved_by,
            findings=[x for x in findings.get(r.ReviewCase.order_id, []) if x.cleared_at is None],
        )
        for r in rows
    ]
    return QueuePage(items=items, total=total)


def rules(uow: UnitOfWork, actor: Actor) -> RuleSetRead:
    actor.require(Permission.ORDER_REVIEW)
    current = screening.current_rules(uow)
    return RuleSetRead(
        version=current.version,
        rules=[RuleRead(**r.model_dump(mode="json", exclude={"params"}),
                        params=r.params.model_dump(mode="json", exclude_none=True)) for r in current.rules],
    )


def rule_versions(session: Session, actor: Actor) -> list[RuleVersionRead]:
    actor.require(Permission.ORDER_REVIEW)
    return [
        RuleVersionRead(version=r.version, created_at=r.created_at, created_by=r.created_by, note=r.note)
        for r in session.scalars(select(ReviewRuleSet).order_by(ReviewRuleSet.version.desc()))
    ]


def blacklist(session: Session, actor: Actor, *, include_removed: bool = False) -> list[BlacklistRead]:
    actor.require(Permission.RISK_BLACKLIST)
    statement = select(BlacklistEntry).order_by(BlacklistEntry.id)
    if not include_removed:
        statement = statement.where(BlacklistEntry.removed_at.is_(None))
    return [BlacklistRead.model_validate(e, from_attributes=True) for e in session.scalars(statement)]
