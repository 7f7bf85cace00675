"""`ordo demo` and the reference-data commands (shops, SKUs, warehouses, customers, catalog import)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the reference-data and demo commands to the main app."""
