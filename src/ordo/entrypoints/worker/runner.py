"""`ordo worker`: serves the backorder queues a crash left unserved (``order.backorders.serve_woken``),
delivers the outbox and runs the tracking pull from the carriers' adapters, the SLA scan (whose
no-movement breaches are the stalled parcels), the progress checks and the silent-customer scan of
the review.

Every job is safe with several workers at once (conditional updates, SKIP LOCKED on PostgreSQL,
alerts keyed once), so no leader election is needed for them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ordo.adapters.messaging.base import Channel
from ordo.adapters.messaging.email import SmtpEmail
from ordo.adapters.messaging.sms import FileSmsProvider, SmsChannel
from ordo.adapters.messaging.webhook import WebhookChannel
from ordo.bootstrap import Ordo
from ordo.notify.worker import deliver_due
from ordo.order.backorders import serve_woken
from ordo.review.handlers import scan_silent
from ordo.shipping.handlers import pull_tracking
from ordo.sla.handlers import progress_check, scan


def build_channels(ordo: Ordo) -> dict[str, Channel]:
    """The real channels from the policy; secrets come from the environment, never the policy file."""
    policy = ordo.policy.notify
    channels: dict[str, Channel] = {
        "email": SmtpEmail(policy.smtp_host, policy.smtp_port, policy.mail_from,
                           username=os.environ.get("ORDO_SMTP_USER"), password=os.environ.get("ORDO_SMTP_PASSWORD")),
        "sms": SmsChannel(FileSmsProvider(Path(policy.sms_outbox_file))),
    }
    secret = os.environ.get("ORDO_WEBHOOK_SECRET")
    # Each subscriber's secret from its environment variable; a missing one fails its messages
    # (retried, then dead letters the admins see) rather than sending them unsigned.
    secrets = {sub.name: os.environ[sub.secret_env] for sub in policy.webhooks if os.environ.get(sub.secret_env)}
    if secret or policy.webhooks:
        channels["webhook"] = WebhookChannel(secret, secrets=secrets, clock=ordo.clock)
    return channels


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    breached: int
    delivered: int
    retried: int
    dead: int
    held: int = 0  # orders put on hold because the customer did not answer in time
    pulled: int = 0  # new tracking events taken from the carriers' adapters
    pull_resume_after: int = 0  # where the next round's tracking pull goes on (``PullOutcome.resume_after``)
    served: int = 0  # backordered orders allocated from goods noted and not yet served (a crash after a receipt)


def run_round(ordo: Ordo, channels: Mapping[str, Channel], *, pull_after: int = 0) -> Round:
    # First: an order allocated here has its clocks and notices in the rest of the round.
    served = ordo.run(serve_woken)
    # Before the SLA scan: a pulled movement restarts the no-movement clock.
    pulled = ordo.run(pull_tracking, after=pull_after)
    result = ordo.run(scan)
    ordo.run(progress_check)
    held = ordo.run(scan_silent)
    delivered = deliver_due(ordo, channels)
    return Round(len(result.breached), len(delivered.sent), len(delivered.retried), len(delivered.dead), len(held),
                 pulled.stored, pulled.resume_after, len(served))


def run(ordo: Ordo, channels: Mapping[str, Channel], *, interval: float, once: bool,
        report: Callable[[Round], None] = lambda r: None, stop: threading.Event | None = None) -> None:
    """Rounds until ``stop`` is set (never, for `ordo worker`); idle rounds wait ``interval``."""
    stop = stop or threading.Event()
    pull_after = 0
    while not stop.is_set():
        try:
            outcome = run_round(ordo, channels, pull_after=pull_after)
        except Exception:  # a broken round (database away) must not end the loop
            log.exception("worker round failed")
            stop.wait(interval)
            continue
        report(outcome)
        pull_after = outcome.pull_resume_after
        if once:
            return
        if not (outcome.delivered or outcome.retried or outcome.served):
            stop.wait(interval)  # idle: wait for new work


def start_in_background(ordo: Ordo, *, interval: float) -> tuple[threading.Thread, threading.Event]:
    """The worker as a daemon thread of `ordo serve` (the embedded SQLite default, one process)."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(ordo, build_channels(ordo)),
                              kwargs={"interval": interval, "once": False, "stop": stop}, name="ordo-worker",
                              daemon=True)
    thread.start()
    return thread, stop
