"""`ordo users …` and `ordo tokens …`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from rich.table import Table

from ordo.auth.handlers import add_user, create_token
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
    console.print(f"user [bold]{username}[/bold] added")


@users.command("list")
def list_users() -> None:
    with ordo().reading() as uow:
        rows = uow.session.scalars(select(User).order_by(User.username)).all()
        table = Table("user", "name", "roles", "shops", "warehouses", "active")
        for u in rows:
            table.add_row(u.username, u.display_name, ", ".join(u.roles), ", ".join(u.shops) or "all",
                          ", ".join(u.warehouses) or "all", "yes" if u.active else "no")
    console.print(table)


@tokens.command("create")
def create(username: str, name: str = "cli") -> None:
    """Create an API token for a user; it is printed once and stored only as a digest."""
    with reported(), ordo().transaction() as uow:
        token = create_token(uow, username=username, name=name)
    console.print(token, highlight=False)
