"""The `ordo` command."""

from __future__ import annotations

from datetime import timedelta

import typer
import uvicorn
from sqlalchemy import select

from ordo.adapters.db.migrate import upgrade
from ordo.auth.handlers import add_user, create_token
from ordo.auth.model import Role
from ordo.auth.tables import User
from ordo.entrypoints.cli import calendar as calendar_cli
from ordo.entrypoints.cli import docs, inventory, legs, orders, reference, users
from ordo.entrypoints.cli import notify as notify_cli
from ordo.entrypoints.cli import review as review_cli
from ordo.entrypoints.cli import shipping as shipping_cli
from ordo.entrypoints.cli import sla as sla_cli
from ordo.entrypoints.cli import warehouse as warehouse_cli
from ordo.entrypoints.cli.common import console, ordo
from ordo.entrypoints.cli.worker import worker
from ordo.entrypoints.worker.runner import start_in_background
from ordo.settings import Settings

app = typer.Typer(help="Ordo — order management.", no_args_is_help=True, pretty_exceptions_enable=False)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
app.add_typer(orders.app, name="orders")
app.add_typer(inventory.app, name="inventory")
app.add_typer(users.users, name="users")
app.add_typer(users.tokens, name="tokens")
app.add_typer(review_cli.app, name="review")
app.add_typer(sla_cli.app, name="sla")
app.add_typer(notify_cli.app, name="notify")
app.add_typer(docs.app, name="docs")
app.add_typer(shipping_cli.tracking, name="tracking")
app.add_typer(shipping_cli.followups, name="followups")
app.add_typer(legs.app, name="legs")
app.add_typer(calendar_cli.app, name="calendar")
app.add_typer(warehouse_cli.warehouse, name="warehouse")
app.add_typer(warehouse_cli.pick, name="pick")
app.command("scan")(warehouse_cli.scan)
app.command()(worker)
reference.register(app)


@db.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the migrations to the configured database."""
    upgrade(ordo().engine, revision)
    console.print(f"database at {revision}: {ordo().engine.url.render_as_string(hide_password=True)}")


ADMIN = "admin"


def admin_token() -> str:
    """A fresh 24-hour token for the admin user, created with the user if missing."""
    with ordo().transaction() as uow:
        if uow.session.scalars(select(User).where(User.username == ADMIN)).first() is None:
            add_user(uow, username=ADMIN, roles=[Role.ADMIN], display_name="Administrator")
        return create_token(uow, username=ADMIN, name="serve", ttl=timedelta(hours=24))


@app.command()
def demo(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if orders already exist"),
    orders: int = typer.Option(1000, help="How many orders to generate"),
    seed: int = typer.Option(2026, help="Random seed, for a reproducible data set"),
) -> None:
    """Load a realistic demo data set: shops, SKUs, warehouses, stock, customers and orders in every state."""
    from ordo.demo import load_demo

    load_demo(ordo(), orders=orders, seed=seed, if_empty=if_empty, console=console)


@app.command()
def serve(
    host: str = typer.Option(None, help="Default: ORDO_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="Default: ORDO_PORT or 8000"),
    workers: int = typer.Option(None, help="Default: ORDO_WORKERS or 1"),
    timeout_worker_healthcheck: int = typer.Option(
        None, min=1, help="Seconds a worker may take to answer the supervisor's health check (several workers) "
                          "before it is killed and replaced. Default: ORDO_TIMEOUT_WORKER_HEALTHCHECK or "
                          f"{Settings.model_fields['timeout_worker_healthcheck'].default}"),
    print_admin_token: bool = typer.Option(True, help="Print a fresh admin token at start"),
    with_worker: bool = typer.Option(
        None, help="Run the outbox and SLA worker in this process (default: on for the embedded SQLite "
                   "database with one process; run `ordo worker` beside PostgreSQL)"),
) -> None:
    """Run the HTTP API (and, on the embedded default, the background worker)."""
    app_ = ordo()
    settings = app_.settings
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    healthcheck = timeout_worker_healthcheck or settings.timeout_worker_healthcheck
    if with_worker is None:
        with_worker = app_.engine.dialect.name == "sqlite" and workers == 1
    if print_admin_token:
        token = admin_token()
        console.print(f"Ordo at [bold]http://{host}:{port}[/bold]  (docs: http://{host}:{port}/docs)")
        console.print(f"admin token (24 h): [bold]{token}[/bold]", highlight=False)
    stop = None
    if with_worker:
        _, stop = start_in_background(app_, interval=2.0)
        console.print("worker: running in this process (outbox, SLA scan, progress checks)")
    try:
        uvicorn.run("ordo.entrypoints.api.app:serve_app", factory=True, host=host, port=port, workers=workers,
                    timeout_worker_healthcheck=healthcheck, log_level="info")
    finally:
        if stop is not None:
            stop.set()


if __name__ == "__main__":
    app()
