"""`ordo worker`."""

from __future__ import annotations

import typer

from ordo.entrypoints.cli.common import console, ordo
from ordo.entrypoints.worker.runner import Round, build_channels, run


def worker(
    once: bool = typer.Option(False, "--once", help="One round, then exit"),
    interval: float = typer.Option(5.0, help="Seconds to wait when idle"),
) -> None:
    """Deliver the outbox (e-mail, SMS, webhooks), run the SLA scan and progress checks, and serve
    backorders a crash left unserved."""
    app = ordo()

    def report(r: Round) -> None:
        if r.breached or r.delivered or r.retried or r.dead or r.served or once:
            console.print(f"breached {r.breached}, delivered {r.delivered}, retrying {r.retried}, dead {r.dead}, "
                          f"backorders served {r.served}")

    run(app, build_channels(app), interval=interval, once=once, report=report)
