"""`ordo users …` and `ordo tokens …`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from ordo.auth.handlers import add_user, create_token, revoke_tokens, set_active, set_password, tokens_of
from ordo.auth.model import Role
from ordo.auth.tables import User
from ordo.entrypoints.cli.common import console, ordo, reported

users = typer.Typer(help="Users, roles and scopes.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens.", no_args_is_help=True)


@users.command("add")
def add(
    username: str,
    role: Annotated[list[Role], typer.Option("--role", help="Repeat for several roles")],
    name: str | None = None,
    password: Annotated[str | None, typer.Option(help="For logging in at POST /api/v1/auth/token")] = None,
    shop: Annotated[list[str] | None, typer.Option("--shop", help="Limit to these shops")] = None,
    warehouse: Annotated[list[str] | None, typer.Option("--warehouse", help="Limit to these warehouses")] = None,
) -> None:
    """Add a user with roles and an optional scope (shops, warehouses)."""
    with reported(), ordo().transaction() as uow:
        add_user(uow, username=username, roles=[r.value for r in role], display_name=name, password=password,
                 shops=shop or (), warehouses=warehouse or ())
    console.print(f"user [bold]{username}[/bold] added", highlight=False)


@users.command("list")
def list_users() -> None:
    """Every user with roles, scope and whether active."""
    with ordo().reading() as uow:
        rows = uow.session.scalars(select(User).order_by(User.username)).all()
        table = Table("user", "name", "roles", "shops", "warehouses", "active")
        for u in rows:
            table.add_row(u.username, u.display_name, ", ".join(u.roles), ", ".join(u.shops) or "all",
                          ", ".join(u.warehouses) or "all", "yes" if u.active else "no")
    console.print(table)


@users.command("disable")
def disable(username: str) -> None:
    """Disable a user: logging in fails and every token is revoked."""
    with reported(), ordo().transaction() as uow:
        set_active(uow, username=username, active=False)
    console.print(f"user [bold]{username}[/bold] disabled; its tokens are revoked", highlight=False)


@users.command("enable")
def enable(username: str) -> None:
    """Enable a disabled user again (create a new token: the old ones stay revoked)."""
    with reported(), ordo().transaction() as uow:
        set_active(uow, username=username, active=True)
    console.print(f"user [bold]{username}[/bold] enabled", highlight=False)


@users.command("password")
def change_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password (asked for twice unless given with --password)."""
    with reported(), ordo().transaction() as uow:
        set_password(uow, username=username, password=password)
    console.print(f"password of [bold]{username}[/bold] set", highlight=False)


@tokens.command("create")
def create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    days: Annotated[int | None, typer.Option(min=1, help="Expires after this many days (default: never)")] = None,
) -> None:
    """Create an API token for a user; it is printed once and stored only as a digest."""
    with reported(), ordo().transaction() as uow:
        token = create_token(uow, username=username, name=name, ttl=timedelta(days=days) if days else None)
    console.print(token, highlight=False, soft_wrap=True)


@tokens.command("list")
def list_tokens(username: str) -> None:
    """A user's tokens (the tokens themselves are not stored, only when and what for)."""
    with reported(), ordo().reading() as uow:
        rows = tokens_of(uow.session, username)
        table = Table("id", "name", "created", "expires", "revoked")
        for t in rows:
            table.add_row(str(t.id), t.name, f"{t.created_at:%Y-%m-%d %H:%M}",
                          f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never",
                          f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "")
    console.print(table)


@tokens.command("revoke")
def revoke(
    username: str,
    token_id: Annotated[int | None, typer.Option("--id", help="Only this token (see `ordo tokens list`)")] = None,
    name: Annotated[str | None, typer.Option(help="Only the tokens with this name")] = None,
) -> None:
    """Revoke a user's active tokens: all of them, or the one with --id, or those named --name."""
    with reported(), ordo().transaction() as uow:
        count = revoke_tokens(uow, username=username, token_id=token_id, name=name)
    console.print(f"revoked {count} token{'s' if count != 1 else ''} of [bold]{username}[/bold]", highlight=False)
