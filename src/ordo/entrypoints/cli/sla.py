"""`ordo sla …`: the breach scan, the progress check, what is overdue."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ordo.auth.model import Actor
from ordo.entrypoints.cli.common import console, ordo, reported
from ordo.sla import handlers, queries

app = typer.Typer(help="SLA clocks: breach scan, progress check, overdue list.", no_args_is_help=True)


@app.command()
def scan() -> None:
    """Mark overdue clocks as breached (once) and alert the supervisors; escalate; check the calendar."""
    with reported(), ordo().transaction() as uow:
        result = handlers.scan(uow)
    console.print(json.dumps({"breached": len(result.breached), "escalated": len(result.escalated),
                              "scheduled": len(result.scheduled), "calendar_alerts": result.calendar_alerts}))


@app.command()
def progress() -> None:
    """Run the progress check of the latest passed slot (09:00 / 15:00) if not done yet."""
    with reported(), ordo().transaction() as uow:
        report = handlers.progress_check(uow)
    if report is None:
        console.print("no progress check due")
        return
    table = Table("department", "step", "overdue", "orders", title="behind schedule")
    for b in report:
        table.add_row(b.department, b.step, str(b.overdue), ", ".join(b.orders[:10]))
    console.print(table)


@app.command()
def overdue(limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """Running clocks past their deadline, most overdue first."""
    with ordo().reading() as uow:
        rows = queries.overdue(uow.session, uow.clock.now(), Actor.system(), limit=limit)
    table = Table("order", "step", "department", "status", "deadline", "overdue (min)", title="overdue")
    for r in rows:
        table.add_row(r.order or "-", r.step, r.department, r.status, r.deadline.isoformat() if r.deadline else "-",
                      str(r.overdue_seconds // 60))
    console.print(table)
