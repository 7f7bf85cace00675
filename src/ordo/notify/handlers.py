"""Admin commands on the outbox: list messages, put a dead letter back in the queue."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.kernel.errors import Conflict, NotFound
from ordo.notify.schemas import OutboxRead
from ordo.notify.tables import OutboxMessage
from ordo.notify.worker import Status


def list_messages(session: Session, *, status: str | None = None, limit: int = 100) -> list[OutboxRead]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        statement = statement.where(OutboxMessage.status == status)
    return [OutboxRead.model_validate(m, from_attributes=True) for m in session.scalars(statement)]


def retry(uow: UnitOfWork, *, message_id: int, actor: Actor) -> OutboxRead:
    """A dead letter goes back to pending with a fresh attempt budget, due now."""
    actor.require(Permission.USER_ADMIN)
    if uow.session.get(OutboxMessage, message_id) is None:
        raise NotFound("message", message_id)
    won = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == Status.DEAD)
        .values(status=Status.PENDING, attempts=0, available_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise Conflict("message_not_dead", ident=message_id)
    message = uow.session.get(OutboxMessage, message_id, populate_existing=True)
    return OutboxRead.model_validate(message, from_attributes=True)
