"""`ordo legs …`: the cross-border legs of a shipment."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import acting_user, console, fail, ordo, parse, reported
from ordo.shipping.crossborder import queries
from ordo.shipping.crossborder.handlers import record_leg
from ordo.shipping.crossborder.schemas import LegActionIn

app = typer.Typer(help="Cross-border legs: booking, declaration, transport, arrival, customs, last mile.",
                  no_args_is_help=True)

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]


@app.command()
def show(shipment: str, as_user: AsUser = None) -> None:
    """The shipment's legs in order, with their times and what comes next."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        view = queries.shipment_legs(uow.session, uow.policy, shipment, actor)
    table = Table("leg", "status", "started", "completed", "reference", "actor", "next",
                  title=f"{view.shipment} ({view.service_type}, {view.status})")
    for leg in view.legs:
        table.add_row(leg.leg, leg.status, leg.started_at.isoformat() if leg.started_at else "-",
                      leg.completed_at.isoformat() if leg.completed_at else "-", leg.reference or "-",
                      leg.actor or "-", ", ".join(leg.actions) or "")
    console.print(table)
    if not view.legs:
        console.print(f"service type {view.service_type} has no cross-border legs")


def _lines(specs: list[str]) -> list[dict[str, Any] | None]:
    """``--line 2:origin_country=CN`` (index of the shipment line, then field=value) into the body's lines."""
    lines: list[dict[str, Any] | None] = []
    for spec in specs:
        index, _, assignment = spec.partition(":")
        name, _, value = assignment.partition("=")
        if not index.isdigit() or not name or not value:
            fail(f'--line "{spec}": expected INDEX:FIELD=VALUE, e.g. 0:hs_code=0902300000')
        i = int(index)
        lines.extend([None] * (i + 1 - len(lines)))
        lines[i] = {**(lines[i] or {}), name: value}
    return lines


@app.command()
def record(
    shipment: str,
    leg: str,
    action: str,
    reference: Annotated[str | None, typer.Option(help="Booking no., declaration no., vessel/flight")] = None,
    carrier: Annotated[str | None, typer.Option(help="Forwarder (book) or local carrier (hand_over)")] = None,
    requested_date: Annotated[str | None, typer.Option(help="For book: YYYY-MM-DD")] = None,
    departed_at: Annotated[str | None, typer.Option(help="For depart: ISO 8601 with offset (default now)")] = None,
    arrived_at: Annotated[str | None, typer.Option(help="For arrive: ISO 8601 with offset (default now)")] = None,
    tracking_number: Annotated[str | None, typer.Option(help="For hand_over")] = None,
    reason: Annotated[str | None, typer.Option(help="For hold")] = None,
    note: str | None = None,
    line: Annotated[list[str] | None, typer.Option(help="For declare: INDEX:FIELD=VALUE, repeatable")] = None,
    as_user: AsUser = None,
) -> None:
    """Record an action on a leg: export_booking book | export_declaration declare |
    international_transport depart | arrival arrive | customs_clearance clear/hold | last_mile hand_over."""
    actor = acting_user(as_user)
    given: dict[str, Any] = {
        "action": action, "reference": reference, "carrier": carrier, "requested_date": requested_date,
        "departed_at": departed_at, "arrived_at": arrived_at, "tracking_number": tracking_number, "reason": reason,
        "note": note, "lines": _lines(line or []) or None,
    }
    with reported(), ordo().transaction() as uow:
        body = parse(LegActionIn, {k: v for k, v in given.items() if v is not None})
        moved = record_leg(uow, shipment=shipment, leg=leg, body=body, actor=actor)
        state = moved.status
    console.print(f"{shipment}: {leg} {action} → [bold]{state}[/bold]")
