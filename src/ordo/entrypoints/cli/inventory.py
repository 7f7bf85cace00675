"""`ordo inventory …`."""

from __future__ import annotations

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import EXIT_REFUSED, console, ordo
from ordo.inventory.queries import verify as find_mismatches

app = typer.Typer(help="Stock checks.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Prove that every stock figure equals the sum of its ledger and its open reservations."""
    with ordo().reading() as uow:
        mismatches = find_mismatches(uow.session)
    if not mismatches:
        console.print("stock agrees with the ledger and the open reservations")
        return
    table = Table("warehouse", "SKU", "figure", "stock", "expected", title="mismatches")
    for m in mismatches:
        table.add_row(m.warehouse, m.sku, m.figure, str(m.stock), str(m.expected))
    console.print(table)
    raise typer.Exit(EXIT_REFUSED)
