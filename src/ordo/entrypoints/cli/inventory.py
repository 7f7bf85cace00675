"""`ordo inventory …`."""

from __future__ import annotations

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import EXIT_REFUSED, console, ordo
from ordo.inventory.queries import ledger as ledger_rows
from ordo.inventory.queries import verify as find_mismatches

app = typer.Typer(help="Stock ledger and checks.", no_args_is_help=True)


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


@app.command()
def ledger(sku: str, warehouse: str | None = None, limit: int = 50) -> None:
    """The newest stock movements of a SKU: who, when, what and why."""
    with ordo().reading() as uow:
        rows = ledger_rows(uow.session, sku=sku, warehouse=warehouse, limit=limit)
    table = Table("at", "warehouse", "kind", "on hand", "reserved", "reference", "reason", "actor", title=sku)
    for r in rows:
        table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", r.warehouse, r.kind, f"{r.on_hand:+d}", f"{r.reserved:+d}",
                      r.reference or "", r.reason or "", r.actor)
    console.print(table)
