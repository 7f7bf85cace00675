"""`ordo notify …`: the outbox for admins."""

from __future__ import annotations

import typer
from rich.table import Table

from ordo.auth.model import Actor
from ordo.entrypoints.cli.common import console, ordo, reported
from ordo.notify import handlers

app = typer.Typer(help="Outbox: list messages, retry dead letters.", no_args_is_help=True)


@app.command("list")
def list_messages(status: str = typer.Option(None, help="pending | sending | sent | dead"),
                  limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """Messages, newest first."""
    with ordo().reading() as uow:
        rows = handlers.list_messages(uow.session, status=status, limit=limit)
    table = Table("id", "topic", "audience", "status", "attempts", "last error", title="outbox")
    for m in rows:
        table.add_row(str(m.id), m.topic, m.audience, m.status, str(m.attempts), m.last_error or "")
    console.print(table)


@app.command()
def retry(message_id: int) -> None:
    """Put a dead letter back in the queue."""
    with reported(), ordo().transaction() as uow:
        message = handlers.retry(uow, message_id=message_id, actor=Actor.system())
    console.print(f"message {message.id} is {message.status} again")
