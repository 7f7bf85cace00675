"""`ordo review …`: the queue, claims and decisions, customer contact, the silent-customer scan,
batch decisions, the rules (list, enable, disable, set) and the blacklist."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ordo.entrypoints.cli.common import acting_user, console, locale, ordo, parse, reported
from ordo.review import handlers, queries
from ordo.review.model import BlacklistKind
from ordo.review.schemas import BlacklistIn, ContactIn

app = typer.Typer(help="Review queue, decisions, customer contact, rules and blacklist.", no_args_is_help=True)
rules_app = typer.Typer(help="List and change the review rules (each change is a new version).", no_args_is_help=True)
blacklist_app = typer.Typer(help="Accounts, phones, e-mails and addresses refused at intake.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(blacklist_app, name="blacklist")

AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]


@app.command("queue")
def queue_(
    reason: str | None = None, shop: str | None = None, reviewer: str | None = None, level: int | None = None,
    limit: int = 20, as_user: AsUser = None,
) -> None:
    """Orders waiting for review: VIP first, then order class, then the oldest."""
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        page = queries.queue(uow.session, actor, queries.QueueFilter(reason=reason, shop=shop, reviewer=reviewer,
                                                                     level=level), limit=limit, offset=0,
                             locale=locale())
    table = Table("number", "shop", "status", "VIP", "class", "waiting since", "level", "claimed by", "why",
                  title=f"{page.total} waiting")
    for i in page.items:
        table.add_row(i.number, i.shop, i.status, str(i.vip_level), i.order_class, i.waiting_since.isoformat(),
                      f"{i.level}/{i.levels}", i.claimed_by or "", "; ".join(f.message for f in i.findings))
    console.print(table)


@app.command()
def claim(number: str, as_user: AsUser = None) -> None:
    """Take an order so that nobody else reviews it at the same time."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        handlers.claim(uow, number=number, actor=actor)
    console.print(f"{number}: claimed by {actor.name}")


@app.command()
def approve(number: str, note: str | None = None, as_user: AsUser = None) -> None:
    """Approve (first or second level)."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        order = handlers.approve(uow, number=number, actor=actor, note=note)
        status = order.status
    console.print(f"{number}: {status}")


@app.command()
def reject(
    number: str, reason: Annotated[str, typer.Option(help="Why (required)")],
    blacklist: Annotated[bool, typer.Option(help="Also blacklist the account and phone")] = False,
    as_user: AsUser = None,
) -> None:
    """Reject an order with a reason."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        order = handlers.reject(uow, number=number, actor=actor, reason=reason, blacklist=blacklist)
        status = order.status
    console.print(f"{number}: {status}")


@app.command()
def contact(
    number: str, channel: str = "phone", note: str | None = None,
    hold: Annotated[bool, typer.Option(help="Hold the order until the customer answers")] = False,
    as_user: AsUser = None,
) -> None:
    """Record a contact attempt with the customer."""
    actor = acting_user(as_user)
    with reported():
        body = parse(ContactIn, {"channel": channel, "note": note, "hold": hold})
        with ordo().transaction() as uow:
            handlers.contact(uow, number=number, actor=actor, channel=body.channel, note=body.note, hold=body.hold)
    console.print(f"{number}: contact recorded")


@app.command()
def answer(number: str, note: str | None = None, as_user: AsUser = None) -> None:
    """The customer answered: settle, release and review again."""
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        order = handlers.answer(uow, number=number, actor=actor, note=note)
        status = order.status
    console.print(f"{number}: {status}")


@app.command()
def scan() -> None:
    """Hold orders whose customer has not answered within the policy limit."""
    with reported(), ordo().transaction() as uow:
        held = handlers.scan_silent(uow)
    console.print(json.dumps({"held": held}))


@app.command()
def batch(
    action: str, numbers: list[str], reason: str | None = None, note: str | None = None, as_user: AsUser = None,
) -> None:
    """Approve or reject several orders; prints one line per order. Exit 1 if any was refused."""
    actor = acting_user(as_user)
    with reported():
        results = handlers.batch(ordo(), action=action, numbers=numbers, actor=actor, reason=reason, note=note,
                                 language=locale())
    for r in results:
        console.print(f"{r.number}: {r.status}" if r.ok else f"{r.number}: [red]{r.detail}[/red]", highlight=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@rules_app.command("list")
def rules_list(as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        current = queries.rules(uow, actor)
    table = Table("code", "enabled", "outcome", "score", "params", title=f"review rules, version {current.version}")
    for r in current.rules:
        table.add_row(r.code, "yes" if r.enabled else "no", r.outcome, str(r.score), json.dumps(r.params,
                                                                                                 ensure_ascii=False))
    console.print(table)


def _change(code: str, as_user: str | None, **changes: object) -> None:
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        version = handlers.update_rule(uow, code=code, actor=actor, **changes)  # type: ignore[arg-type]
    console.print(f"review rules: version {version}")


@rules_app.command()
def enable(code: str, note: str | None = None, as_user: AsUser = None) -> None:
    _change(code, as_user, enabled=True, note=note)


@rules_app.command()
def disable(code: str, note: str | None = None, as_user: AsUser = None) -> None:
    _change(code, as_user, enabled=False, note=note)


@rules_app.command("set")
def set_(
    code: str,
    param: Annotated[list[str], typer.Option(help="name=value, e.g. window=PT45M or count=4; lists comma-separated")],
    score: int | None = None, note: str | None = None, as_user: AsUser = None,
) -> None:
    """Change a rule's parameters."""
    params: dict[str, object] = {}
    for item in param:
        name, _, value = item.partition("=")
        params[name.strip()] = value.split(",") if name.strip() in ("prefixes", "words", "service_types", "traits",
                                                                   "payment_methods", "order_classes") else value
    _change(code, as_user, params=params, score=score, note=note)


@blacklist_app.command("list")
def blacklist_list(as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), ordo().reading() as uow:
        entries = queries.blacklist(uow.session, actor)
    table = Table("id", "kind", "value", "reason", "added by", "added at")
    for e in entries:
        table.add_row(str(e.id), e.kind, e.value, e.reason, e.added_by, e.added_at.isoformat())
    console.print(table)


@blacklist_app.command("add")
def blacklist_add(
    kind: BlacklistKind, value: str, reason: Annotated[str, typer.Option(help="Why (required)")],
    as_user: AsUser = None,
) -> None:
    """Add an account (channel:account), phone or e-mail. Addresses: use the API (structured)."""
    actor = acting_user(as_user)
    with reported():
        body = parse(BlacklistIn, {"kind": kind, "value": value, "reason": reason})
        with ordo().transaction() as uow:
            entry = handlers.add_to_blacklist(uow, kind=body.kind, value=body.value, reason=body.reason, actor=actor)
            shown = (entry.id, entry.value)
    console.print(f"blacklist entry {shown[0]}: {shown[1]}")


@blacklist_app.command("remove")
def blacklist_remove(entry_id: int, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), ordo().transaction() as uow:
        handlers.remove_from_blacklist(uow, entry_id=entry_id, actor=actor)
    console.print(f"blacklist entry {entry_id} removed")
