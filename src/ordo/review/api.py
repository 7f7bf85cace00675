"""HTTP for review: the queue, claiming, decisions, customer contact, batch, rules, blacklist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from ordo.entrypoints.api.deps import CurrentActor, Locale, OrdoApp, Reading
from ordo.order.lifecycle import load_order
from ordo.review import handlers, queries
from ordo.review.schemas import (
    AnswerIn,
    BatchIn,
    BatchItem,
    BlacklistIn,
    BlacklistRead,
    ContactIn,
    DecisionIn,
    QueuePage,
    RejectIn,
    ReviewRead,
    RulePatch,
    RuleSetRead,
    RuleVersionRead,
)

router = APIRouter(prefix="/review", tags=["review"])
CONFLICT = {409: {"description": "Not waiting for review, claimed by someone else, or the same person twice"}}


class ScanResult(BaseModel):
    held: list[str]


def _review(ordo: OrdoApp, number: str, actor: CurrentActor, locale: str) -> ReviewRead:
    with ordo.reading() as uow:
        order = load_order(uow.session, number, actor)
        return queries.review_of(uow.session, order.id, locale)


@router.get("/queue", response_model=QueuePage)
def review_queue(
    uow: Reading,
    actor: CurrentActor,
    locale: Locale,
    reason: str | None = None,
    shop: str | None = None,
    reviewer: str | None = None,
    level: Annotated[int | None, Query(ge=1, le=2)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> QueuePage:
    f = queries.QueueFilter(reason=reason, shop=shop, reviewer=reviewer, level=level)
    return queries.queue(uow.session, actor, f, limit=limit, offset=offset, locale=locale)


@router.get("/orders/{number}", response_model=ReviewRead)
def order_review(number: str, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> ReviewRead:
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/claim", response_model=ReviewRead, responses=CONFLICT)
def claim(number: str, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> ReviewRead:
    ordo.run(handlers.claim, number=number, actor=actor)
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/unclaim", response_model=ReviewRead, responses=CONFLICT)
def unclaim(number: str, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> ReviewRead:
    ordo.run(handlers.unclaim, number=number, actor=actor)
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/approve", response_model=ReviewRead, responses=CONFLICT)
def approve(
    number: str, ordo: OrdoApp, actor: CurrentActor, locale: Locale, body: DecisionIn | None = None
) -> ReviewRead:
    ordo.run(handlers.approve, number=number, actor=actor, note=(body or DecisionIn()).note)
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/reject", response_model=ReviewRead, responses=CONFLICT)
def reject(number: str, body: RejectIn, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> ReviewRead:
    ordo.run(handlers.reject, number=number, actor=actor, reason=body.reason, blacklist=body.blacklist)
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/contacts", response_model=ReviewRead, status_code=status.HTTP_201_CREATED,
             responses=CONFLICT)
def contact(number: str, body: ContactIn, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> ReviewRead:
    ordo.run(handlers.contact, number=number, actor=actor, channel=body.channel, note=body.note, at=body.at,
             hold=body.hold)
    return _review(ordo, number, actor, locale)


@router.post("/orders/{number}/answer", response_model=ReviewRead, responses=CONFLICT)
def answer(number: str, ordo: OrdoApp, actor: CurrentActor, locale: Locale, body: AnswerIn | None = None) -> ReviewRead:
    ordo.run(handlers.answer, number=number, actor=actor, note=(body or AnswerIn()).note)
    return _review(ordo, number, actor, locale)


@router.post("/batch", response_model=list[BatchItem])
def batch(body: BatchIn, ordo: OrdoApp, actor: CurrentActor, locale: Locale) -> list[BatchItem]:
    results = handlers.batch(ordo, action=body.action, numbers=body.numbers, actor=actor, reason=body.reason,
                             note=body.note, language=locale)
    return [BatchItem(number=r.number, ok=r.ok, status=r.status, code=r.code, detail=r.detail) for r in results]


@router.post("/scan", response_model=ScanResult)
def scan(ordo: OrdoApp, actor: CurrentActor) -> ScanResult:
    """Hold the orders whose customer has not answered within the policy limit."""
    from ordo.auth.model import Permission

    actor.require(Permission.ORDER_REVIEW)
    return ordo.run(lambda uow: ScanResult(held=handlers.scan_silent(uow)))


@router.get("/rules", response_model=RuleSetRead)
def list_rules(uow: Reading, actor: CurrentActor) -> RuleSetRead:
    return queries.rules(uow, actor)


@router.get("/rules/versions", response_model=list[RuleVersionRead])
def rule_versions(uow: Reading, actor: CurrentActor) -> list[RuleVersionRead]:
    return queries.rule_versions(uow.session, actor)


@router.patch("/rules/{code}", response_model=RuleSetRead, responses={404: {"description": "No such rule"}})
def change_rule(code: str, body: RulePatch, ordo: OrdoApp, actor: CurrentActor) -> RuleSetRead:
    ordo.run(handlers.update_rule, code=code, actor=actor, enabled=body.enabled, score=body.score,
             params=body.params, note=body.note)
    with ordo.reading() as uow:
        return queries.rules(uow, actor)


@router.get("/blacklist", response_model=list[BlacklistRead])
def list_blacklist(uow: Reading, actor: CurrentActor, include_removed: bool = False) -> list[BlacklistRead]:
    return queries.blacklist(uow.session, actor, include_removed=include_removed)


@router.post("/blacklist", response_model=BlacklistRead, status_code=status.HTTP_201_CREATED)
def add_blacklist(body: BlacklistIn, ordo: OrdoApp, actor: CurrentActor) -> BlacklistRead:
    entry = ordo.run(handlers.add_to_blacklist, kind=body.kind, value=body.value, reason=body.reason, actor=actor,
                     address=body.address.model_dump() if body.address else None)
    return BlacklistRead.model_validate(entry, from_attributes=True)


@router.delete("/blacklist/{entry_id}", response_model=BlacklistRead, responses={404: {"description": "No such entry"}})
def remove_blacklist(entry_id: int, ordo: OrdoApp, actor: CurrentActor) -> BlacklistRead:
    entry = ordo.run(handlers.remove_from_blacklist, entry_id=entry_id, actor=actor)
    return BlacklistRead.model_validate(entry, from_attributes=True)
