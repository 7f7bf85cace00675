"""`ordo tracking …` (carrier events in, stalled shipments) and `ordo followups …`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import acting_user, console, fail, ordo, reported
from ordo.shipping import handlers, queries

tracking = typer.Typer(help="Tracking events: CSV import, pull from carriers, stalled shipments, interception.",
                       no_args_is_help=True)
followups = typer.Typer(help="Follow-up tasks for customer service (refused deliveries).", no_args_is_help=True)

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]


@tracking.command("import")
def import_file(file: Path, as_user: AsUser = None) -> None:
    """Import a carrier's tracking CSV (tracking_number,event,at[,location,note]); all or nothing."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except UnicodeDecodeError as exc:
        fail(f"{file}: not UTF-8 ({exc})")
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        outcome = handlers.import_csv(uow, text=text, actor=actor)
    console.print(json.dumps({"stored": outcome.stored, "duplicates": outcome.duplicates}))


@tracking.command("pull")
def pull(batch: Annotated[int, typer.Option(min=1, help="Shipments asked about per transaction")] = 500) -> None:
    """Ask the carriers' adapters for new tracking events of every moving shipment and take them in
    (idempotent), ``batch`` shipments per transaction; orders a command holds are left ("busy") for
    the next pull."""
    total: dict[str, Any] = {"stored": 0, "duplicates": 0, "failed": [], "busy": []}
    after = 0
    with reported():
        app_ = ordo()
        while True:
            outcome = app_.run(handlers.pull_tracking, batch=batch, after=after)
            for key in total:
                total[key] += getattr(outcome, key)
            if not outcome.resume_after:
                break
            after = outcome.resume_after
    console.print(json.dumps(total))


@tracking.command("intercept")
def intercept(shipment: str, reason: Annotated[str, typer.Option(help="Why the parcel is stopped")],
              as_user: AsUser = None) -> None:
    """Ask the carrier to stop a parcel already handed over; say whether it confirmed."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        done = handlers.intercept(uow, number=shipment, reason=reason, actor=actor)
        console.print(json.dumps({"shipment": done.shipment.number, "status": done.shipment.status,
                                  "carrier": done.shipment.carrier, "carrier_confirmed": done.carrier_confirmed}))


@tracking.command("stalled")
def stalled() -> None:
    """List the shipments stalled now: their tracking_stalled clock breached (`ordo sla scan` or the
    worker marks it and alerts logistics once) and nothing has moved them since."""
    with ordo().reading() as uow:
        flagged = queries.stalled(uow.session)
    console.print(json.dumps({"stalled": flagged}))


@followups.command("list")
def list_tasks(status: Annotated[str | None, typer.Option(help="open or done")] = "open",
               as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with ordo().reading() as uow:
        rows = queries.followups(uow.session, actor, status=status)
    table = Table("id", "kind", "order", "shipment", "status", "due", title="follow-up tasks")
    for r in rows:
        table.add_row(str(r.id), r.kind, r.order, r.shipment or "-", r.status, r.due_at.isoformat())
    console.print(table)


@followups.command("done")
def done(task_id: int, note: Annotated[str | None, typer.Option()] = None, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        task = handlers.finish_followup(uow, task_id=task_id, note=note, actor=actor)
        console.print(json.dumps({"id": task.id, "status": task.status}))
