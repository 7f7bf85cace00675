"""`ordo warehouse layout …`, `ordo pick …` and `ordo scan`: the warehouse floor from the command line."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import acting_user, console, ordo, parse, reported
from ordo.fulfillment import floor, picking, scanning
from ordo.fulfillment.schemas import LayoutIn, LayoutRead, PickListRead, PickReleaseIn, ScanIn

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]

warehouse = typer.Typer(help="The warehouse floor.", no_args_is_help=True)
layout = typer.Typer(help="Warehouse layouts: aisles, cross aisles, slots, depot.", no_args_is_help=True)
warehouse.add_typer(layout, name="layout")
pick = typer.Typer(help="Pick lists: release waves, claim, show in route order.", no_args_is_help=True)


class Stage(StrEnum):
    PICK = "pick"
    CHECK = "check"


def _show_layout(read: LayoutRead) -> None:
    table = Table("field", "value", title=f"{read.warehouse} layout" + (" (policy default)" if read.default else ""))
    for name, value in read.model_dump(exclude={"warehouse", "default"}).items():
        table.add_row(name, str(value))
    console.print(table)


@layout.command("set")
def layout_set(
    code: Annotated[str, typer.Argument(metavar="WAREHOUSE")],
    aisles: Annotated[int, typer.Option(help="Parallel aisles (1–99)")],
    aisle_length: Annotated[float, typer.Option(help="Aisle length, metres")],
    aisle_spacing: Annotated[float, typer.Option(help="Distance between aisles, metres")],
    slot_length: Annotated[float, typer.Option(help="Slot length along the aisle, metres")],
    middle: Annotated[list[float] | None, typer.Option(help="A middle cross aisle, metres from the front")] = None,
    depot_aisle: Annotated[int, typer.Option(help="The depot is at the front of this aisle")] = 1,
    as_user: AsUser = None,
) -> None:
    """Give WAREHOUSE its floor layout (front and back cross aisles always exist)."""
    actor = acting_user(as_user)
    values = {"aisles": aisles, "aisle_length_m": aisle_length, "aisle_spacing_m": aisle_spacing,
              "slot_length_m": slot_length, "middle_cross_aisles_m": middle or [], "depot_aisle": depot_aisle}
    with reported(), ordo().transaction() as uow:
        read = floor.set_layout(uow, code=code, body=parse(LayoutIn, values), actor=actor)
    _show_layout(read)


@layout.command("show")
def layout_show(code: Annotated[str, typer.Argument(metavar="WAREHOUSE")], as_user: AsUser = None) -> None:
    """The layout of WAREHOUSE (or the policy's default if it has none)."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        read = floor.get_layout(uow, code=code, actor=actor)
    _show_layout(read)


def _show_list(p: PickListRead) -> None:
    title = f"{p.number} · {p.warehouse} · {p.status} · {p.route_length_m:g} m ({p.route_method})"
    table = Table("#", "bin", "SKU", "name", "qty", "shipment", title=title + (f" · {p.picker}" if p.picker else ""))
    for s in p.stops:
        table.add_row(str(s.seq), s.bin, s.sku, s.sku_name, str(s.quantity), s.shipment)
    console.print(table)


@pick.command("release")
def pick_release(code: Annotated[str, typer.Argument(metavar="WAREHOUSE")], as_user: AsUser = None) -> None:
    """Group WAREHOUSE's allocated shipments on no list yet into pick lists (most urgent first)."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        released = picking.release_pick_lists(uow, body=parse(PickReleaseIn, {"warehouse": code}), actor=actor)
    if not released:
        console.print(f"{code}: no shipments waiting for a pick list")
    for p in released:
        _show_list(p)


@pick.command("list")
def pick_list(warehouse_code: Annotated[str | None, typer.Option("--warehouse")] = None,
              status: str | None = None, as_user: AsUser = None) -> None:
    """Pick lists, oldest first."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        page = picking.list_pick_lists(uow, actor=actor, warehouse=warehouse_code, status=status)
    table = Table("number", "warehouse", "status", "picker", "items", "route m", "shipments")
    for p in page.items:
        table.add_row(p.number, p.warehouse, p.status, p.picker or "", str(p.items), f"{p.route_length_m:g}",
                      ", ".join(p.shipments))
    console.print(table)


@pick.command("show")
def pick_show(number: str, as_user: AsUser = None) -> None:
    """A pick list's stops in route order, with the route length."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        read = picking.get_pick_list(uow, number=number, actor=actor)
    _show_list(read)


@pick.command("claim")
def pick_claim(number: str, as_user: AsUser = None) -> None:
    """Take a pick list (refused if someone has it); its shipments start picking."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        read = picking.claim_pick_list(uow, number=number, actor=actor)
    _show_list(read)


def scan(
    shipment: str,
    barcode: str,
    quantity: Annotated[int, typer.Argument(help="Units scanned at once")] = 1,
    stage: Annotated[Stage, typer.Option(help="pick (while picking) or check (once picked)")] = Stage.PICK,
    as_user: AsUser = None,
) -> None:
    """Scan BARCODE × QTY for SHIPMENT; a refused scan is kept as refused and exits 1."""
    actor = acting_user(as_user)
    with reported():
        with ordo().transaction() as uow:
            outcome = scanning.record_scan(
                uow, shipment=shipment, body=parse(ScanIn, {"barcode": barcode, "quantity": quantity,
                                                            "stage": stage.value}), actor=actor)
        done = outcome.raise_if_refused()
    console.print(f"{shipment}: {stage.value} {done.sku} × {done.quantity} accepted")
