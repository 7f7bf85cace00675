"""`ordo docs …`: print a document to a PDF file (the same documents as the API's *.pdf routes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ordo.documents.printing import DocumentKind, filename, print_document
from ordo.entrypoints.cli.common import acting_user, console, ordo, reported

app = typer.Typer(help="Printed documents as PDF: confirmation, packing slip, label, pick list.", no_args_is_help=True)

Output = Annotated[Path | None, typer.Option("-o", "--output", help="PDF file to write (default: KIND-NUMBER.pdf)")]
AsUser = Annotated[str | None, typer.Option("--as", help="Print as this user (default: system)")]


def _write(kind: DocumentKind, number: str, output: Path | None, as_user: str | None) -> None:
    actor = acting_user(as_user)
    with reported():
        body = print_document(ordo(), kind, number, actor)
    target = output or Path(filename(kind, number))
    target.write_bytes(body)
    console.print(f"{kind.value} {number}: {target} ({len(body)} bytes)", highlight=False)


@app.command()
def confirmation(number: str, output: Output = None, as_user: AsUser = None) -> None:
    """The customer order confirmation of an order."""
    _write(DocumentKind.CONFIRMATION, number, output, as_user)


@app.command("packing-slip")
def packing_slip(shipment: str, output: Output = None, as_user: AsUser = None) -> None:
    """The packing slip of a shipment."""
    _write(DocumentKind.PACKING_SLIP, shipment, output, as_user)


@app.command()
def label(shipment: str, output: Output = None, as_user: AsUser = None) -> None:
    """The 100 × 150 mm shipping label of a shipment that has a tracking number."""
    _write(DocumentKind.LABEL, shipment, output, as_user)


@app.command("pick-list")
def pick_list(number: str, output: Output = None, as_user: AsUser = None) -> None:
    """A pick list in route order."""
    _write(DocumentKind.PICK_LIST, number, output, as_user)
