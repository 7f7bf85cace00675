"""`ordo orders …`: create from a JSON file, list, show, and every action of the forward path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import acting_user, console, ordo, parse, read_json, reported
from ordo.order import queries
from ordo.order.actions import ActionIn, OrderAction, perform
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.schemas import OrderDetail
from ordo.order.states import HoldReason

app = typer.Typer(help="Create, list, show and act on orders.", no_args_is_help=True)

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]


@app.command()
def create(file: Path, as_user: AsUser = None) -> None:
    """Submit an order from a JSON file (the same shape as POST /api/v1/orders)."""
    raw = read_json(file)
    actor = acting_user(as_user)
    with reported():
        number, created = intake(ordo(), submission=parse(OrderSubmission, raw), actor=actor)
    with ordo().reading() as uow:
        state = queries.order_detail(uow.session, number, actor).status
    console.print(f"{'created' if created else 'already exists'}: [bold]{number}[/bold] ({state})")


@app.command("list")
def list_(
    status: str | None = None,
    channel: str | None = None,
    shop: str | None = None,
    phone: str | None = None,
    sku: str | None = None,
    order_class: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
    as_user: AsUser = None,
) -> None:
    """Newest orders first, filtered."""
    actor = acting_user(as_user)
    f = queries.OrderFilter(status=status, channel=channel, shop=shop, phone=phone, sku=sku, order_class=order_class)
    with reported(), ordo().reading() as uow:
        page = queries.list_orders(
            uow.session, f, actor, home_country=uow.policy.intake.home_country, cursor=cursor, limit=limit
        )
    table = Table("number", "shop", "status", "payment", "class", "customer", "total", "created")
    for o in page.items:
        table.add_row(
            o.number,
            o.shop,
            o.status,
            o.payment_status,
            o.order_class,
            o.customer_name,
            f"{o.total} {o.currency}",
            o.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


def _print_detail(d: OrderDetail) -> None:
    console.print(f"[bold]{d.number}[/bold]  {d.status}  payment {d.payment_status}  shipping {d.shipping_progress}")
    console.print(f"{d.shop} / {d.external_id}  {d.customer_name} {d.phone or ''} {d.email or ''}")
    a = d.address
    console.print(" ".join(p for p in (a.country, a.province, a.city, a.district, a.street, a.postcode) if p))
    lines = Table("#", "sku", "name", "qty", "price", "amount", title="lines")
    for ln in d.lines:
        lines.add_row(str(ln.line_no), ln.sku, ln.name, str(ln.quantity), str(ln.unit_price), str(ln.amount))
    console.print(lines)
    console.print(
        f"total {d.total} {d.currency} = goods {d.goods_total} + shipping {d.shipping_fee} - discounts {d.discounts}"
    )
    if d.holds:
        holds = Table("hold", "note", "by", "at", "released", title="holds")
        for h in d.holds:
            holds.add_row(
                h.reason,
                h.note or "",
                h.placed_by,
                f"{h.placed_at:%Y-%m-%d %H:%M}",
                f"{h.released_at:%Y-%m-%d %H:%M}" if h.released_at else "",
            )
        console.print(holds)
    if d.shipments:
        ships = Table("shipment", "warehouse", "status", "carrier", "tracking", "lines", title="shipments")
        for s in d.shipments:
            ships.add_row(
                s.number,
                s.warehouse,
                s.status,
                s.carrier or "",
                s.tracking_number or "",
                ", ".join(f"{sl.sku}×{sl.quantity}" for sl in s.lines),
            )
        console.print(ships)
    timeline = Table("at", "actor", "event", "from", "to", "reason", title="timeline")
    for e in d.events:
        timeline.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.name, e.from_state or "", e.to_state or "", e.reason or ""
        )
    console.print(timeline)
    console.print(f"allowed actions: {', '.join(d.allowed_actions) or '-'}")


@app.command()
def show(number: str, as_user: AsUser = None) -> None:
    """One order with lines, holds, shipments and its whole timeline."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        detail = queries.order_detail(uow.session, number, actor)
    _print_detail(detail)


@app.command()
def act(
    number: str,
    action: OrderAction,
    reason: Annotated[str | None, typer.Option(help="Why (reject, cancel, close; ship --override-booking)")] = None,
    note: str | None = None,
    hold_reason: Annotated[HoldReason | None, typer.Option(help="For hold and release")] = None,
    shipment: Annotated[str | None, typer.Option(help="Only this shipment")] = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    service: Annotated[str | None, typer.Option(help="For ship (default: the booked service)")] = None,
    override_booking: Annotated[bool, typer.Option(
        "--override-booking", help="For ship: these values replace the hand-over booking (needs --reason)",
    )] = False,
    reference: str | None = None,
    line_no: Annotated[int | None, typer.Option(help="For substitute: the order line")] = None,
    sku: Annotated[str | None, typer.Option(help="For substitute: the SKU taking its place")] = None,
    as_user: AsUser = None,
) -> None:
    """Perform an action: pay, confirm, reject, allocate, hold, release, cancel, close, pick, finish-pick,
    check, pack, hand-over, ship, out-for-delivery, deliver, complete, wait, substitute."""
    actor = acting_user(as_user)
    given = {
        "reason": reason, "note": note, "hold_reason": hold_reason, "shipment": shipment, "carrier": carrier,
        "tracking_number": tracking_number, "service": service, "override_booking": override_booking or None,
        "reference": reference, "line_no": line_no, "sku": sku,
    }
    with reported(), ordo().transaction() as uow:
        body = parse(ActionIn, {k: v for k, v in given.items() if v is not None})
        order = perform(uow, number=number, action=action, body=body, actor=actor)
        state = order.status
    console.print(f"{number}: {action.value} → [bold]{state}[/bold]")
