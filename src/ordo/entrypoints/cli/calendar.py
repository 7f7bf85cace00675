"""`ordo calendar …`: the business calendar's override table (next year's holidays and adjusted
working days, entered when the government publishes them)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import typer
from rich.table import Table

from ordo.auth.model import Actor
from ordo.entrypoints.cli.common import console, ordo, reported
from ordo.sla import calendar as calendars

app = typer.Typer(help="Business calendar: days that override the official calendar.", no_args_is_help=True)


class Kind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


@app.command("set")
def set_day(day: str = typer.Argument(..., help="YYYY-MM-DD"), kind: Kind = typer.Argument(...)) -> None:
    """Enter a day as a holiday or a working day."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        console.print(f"day: {day!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None
    with reported(), ordo().transaction() as uow:
        calendars.set_days(uow, days={parsed: kind.value}, actor=Actor.system())
    console.print(f"{parsed.isoformat()} is a {kind.value}")


@app.command("list")
def list_days(year: int = typer.Option(None, help="only this year")) -> None:
    """The days entered."""
    with ordo().reading() as uow:
        days = calendars.overrides(uow.session, year=year)
    table = Table("day", "kind", title="calendar overrides")
    for d, k in days.items():
        table.add_row(d.isoformat(), k)
    console.print(table)
