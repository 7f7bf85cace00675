"""HTTP for the outbox (admins): list messages, retry a dead letter."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ordo.auth.model import Permission
from ordo.entrypoints.api.deps import CurrentActor, Reading, Transaction
from ordo.notify import handlers
from ordo.notify.schemas import OutboxRead

router = APIRouter(tags=["notifications"])


@router.get("/outbox", response_model=list[OutboxRead])
def list_outbox(uow: Reading, actor: CurrentActor, status: str | None = None,
                limit: int = Query(100, ge=1, le=1000)) -> list[OutboxRead]:
    actor.require(Permission.USER_ADMIN)
    return handlers.list_messages(uow.session, status=status, limit=limit)


@router.post("/outbox/{message_id}/retry", response_model=OutboxRead)
def retry(message_id: int, uow: Transaction, actor: CurrentActor) -> OutboxRead:
    return handlers.retry(uow, message_id=message_id, actor=actor)
