"""Soak and crashes: minutes of mixed traffic from closed-loop clients against `ordo serve` and
`ordo worker`, optionally killing both with SIGKILL at random moments, then a proof that nothing
was lost, duplicated, oversold or left half-done.

    python bench/soak.py run --minutes 10 --clients 16 [--database-url URL] [--chaos] [--seed S]

On a scratch database (a fresh SQLite file, or a database created on the PostgreSQL server of
``--database-url`` and dropped afterwards): a catalogue with plentiful and deliberately scarce SKUs
over two warehouses, reviewers, a picker and a checker; ``ordo serve --workers N`` and ``ordo
worker`` as subprocesses; a webhook subscriber, a mail server and the SMS file on 127.0.0.1
receiving every outbox message (bench/receivers.py). C clients run the mix of bench/traffic.py.
``--chaos`` kills the server (its whole process group: uvicorn's supervisor and workers) and,
separately, the worker about every ``--kill-every`` seconds each, at random moments, and starts
them again; the clients ride through. At the end the load stops, the worker drains the outbox and
bench/check.py checks the database against what the clients were told and what the receivers got.

Prints one JSON line; exit 1 if the checker found a violation or any request was an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import typer
from check import check_url
from intake import scratch_database
from receivers import Receivers
from sqlalchemy import text
from sqlalchemy.engine import make_url
from traffic import Catalogue, Habits, Outages, Tally, Tokens, World, drive

from ordo.adapters.db.engine import make_engine
from ordo.auth.handlers import add_user, create_token
from ordo.auth.model import Role
from ordo.bootstrap import Ordo
from ordo.catalog.tables import Sku
from ordo.channel.tables import Shop
from ordo.inventory.handlers import receive
from ordo.inventory.tables import Warehouse
from ordo.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True)
ORDO = Path(sys.executable).parent / "ordo"
# What a run writes to its directory (bench/receivers.py writes sms.log).
RUN_FILES = ("server.log", "worker.log", "sms.log", "policy.toml", "acknowledged.json", "received.json")
SECRET_ENV, SECRET = "SOAK_WEBHOOK_SECRET", "soak-webhook-secret"
PLENTY = 10_000_000
# Scarce SKUs: a few units in one warehouse, so concurrent orders compete for them (oversell would
# show), backorders wait and restocks serve them.
SCARCE = {"S-0": ("WH-E", 6), "S-1": ("WH-E", 10), "S-2": ("WH-N", 8), "S-3": ("WH-N", 4)}


# --- the data ---------------------------------------------------------------------------------------


def seed_data(url: str) -> tuple[Catalogue, Tokens]:
    """Shop, two warehouses, 24 plentiful SKUs (16 in both warehouses, 4 in each one only, so orders
    split), the scarce SKUs, two over the second-review amount; and the people with their tokens."""
    ordo = Ordo(Settings(database_url=url))
    plentiful = {f"P-{i:02d}": Decimal(10 + 3 * i) for i in range(24)}
    large = {"LUX-0": Decimal("6000.00"), "LUX-1": Decimal("8800.00")}
    scarce_prices = {code: Decimal("49.00") for code in SCARCE}
    with ordo.transaction() as uow:
        s, now = uow.session, uow.clock.now()
        s.add(Shop(code="soak", name="Soak shop", channel="web", created_at=now))
        s.add_all([
            Warehouse(code="WH-E", name="华东仓", kind="domestic", country="CN", region="上海", serves=[],
                      capabilities=[], priority=10),
            Warehouse(code="WH-N", name="华北仓", kind="domestic", country="CN", region="北京", serves=[],
                      capabilities=[], priority=20),
        ])
        for code, price in {**plentiful, **large, **scarce_prices}.items():
            s.add(Sku(code=code, name=f"Soak {code}", category="soak", traits=[], price=price, weight_g=300))
        s.flush()
        skus = {k.code: k.id for k in s.query(Sku)}
        whs = {w.code: w.id for w in s.query(Warehouse)}
        for i, code in enumerate(sorted(plentiful)):
            places = ["WH-E", "WH-N"] if i < 16 else (["WH-E"] if i < 20 else ["WH-N"])
            for wh in places:
                receive(s, warehouse_id=whs[wh], sku_id=skus[code], quantity=PLENTY, actor="soak", at=now)
        for code in large:
            receive(s, warehouse_id=whs["WH-E"], sku_id=skus[code], quantity=PLENTY, actor="soak", at=now)
        for code, (wh, units) in SCARCE.items():
            receive(s, warehouse_id=whs[wh], sku_id=skus[code], quantity=units, actor="soak", at=now)
    people = {"soak-admin": [Role.ADMIN], "rev-1": [Role.REVIEWER], "rev-2": [Role.REVIEWER],
              "rev-3": [Role.REVIEWER], "picker": [Role.WAREHOUSE], "checker": [Role.WAREHOUSE]}
    tokens: dict[str, str] = {}
    with ordo.transaction() as uow:
        for name, roles in people.items():
            add_user(uow, username=name, roles=roles, display_name=name)
    with ordo.transaction() as uow:
        for name in people:
            tokens[name] = create_token(uow, username=name, name="soak", ttl=timedelta(hours=12))
    ordo.dispose()
    reviewers = ("rev-1", "rev-2", "rev-3")
    catalogue = Catalogue(plentiful=plentiful, scarce={c: (wh, scarce_prices[c]) for c, (wh, _) in SCARCE.items()},
                          large=large, shop="soak")
    return catalogue, Tokens(admin=tokens["soak-admin"], reviewers=tuple(tokens[r] for r in reviewers),
                             reviewer_names=reviewers, picker=tokens["picker"], checker=tokens["checker"])


def policy_file(directory: Path, receivers: Receivers) -> Path:
    """Retries come quickly (1 s backoff, 10 s lease) so the drain after the load is short; the
    public status query is not rate-limited (every client comes from 127.0.0.1)."""
    notify: dict[str, Any] = {"backoff_base": 1, "backoff_max": 5, "lease": 10, "max_attempts": 25,
                              "track_rate_limit": "1000000/minute", **receivers.notify_policy(SECRET_ENV)}
    hooks = notify.pop("webhooks")
    lines = ["[notify]", *(f"{k} = {json.dumps(v)}" for k, v in notify.items())]
    for hook in hooks:
        lines += ["", "[[notify.webhooks]]", *(f"{k} = {json.dumps(v)}" for k, v in hook.items())]
    path = directory / "policy.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the processes ----------------------------------------------------------------------------------


class Service:
    """A subprocess in a process group of its own, so that a kill takes all of it at once (the
    server is uvicorn's supervisor and its workers): what a crash of the machine would do."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts} at {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def kill(self) -> None:
        """SIGKILL to the whole group, then reap."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass


def wait_healthy(port: int, service: Service, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc is not None and service.proc.poll() is not None:
            raise SystemExit(f"{service.name} exited with {service.proc.returncode}; see {service.log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{service.name} did not come up within {timeout:.0f} s; see {service.log}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- chaos ------------------------------------------------------------------------------------------


def kill_plan(seconds: float, every: float, rng: random.Random) -> list[float]:
    """Kill moments: one at a random point of each of max(1, seconds / every) equal windows
    between 10 % and 75 % of the run (so the last restart is well before the end)."""
    n = max(1, round(seconds / every))
    start, width = 0.10 * seconds, 0.65 * seconds / n
    return [start + i * width + rng.uniform(0.1, 0.9) * width for i in range(n)]


async def chaos_server(server: Service, port: int, outages: Outages, moments: list[float], began: float,
                       record: dict[str, list[float]]) -> None:
    for at in moments:
        await asyncio.sleep(max(0.0, began + at - time.monotonic()))
        outages.down = True
        killed = time.monotonic()
        server.kill()
        await asyncio.to_thread(_restart_server, server, port)
        outages.up_since, outages.down = time.monotonic(), False
        record["server"].append(round(time.monotonic() - killed, 2))


def _restart_server(server: Service, port: int) -> None:
    server.start()
    wait_healthy(port, server)


async def chaos_worker(worker: Service, moments: list[float], began: float, rng: random.Random,
                       record: dict[str, list[float]]) -> None:
    for at in moments:
        await asyncio.sleep(max(0.0, began + at - time.monotonic()))
        killed = time.monotonic()
        worker.kill()
        await asyncio.sleep(rng.uniform(0.5, 3.0))  # the time a supervisor takes to notice
        worker.start()
        record["worker"].append(round(time.monotonic() - killed, 2))


# --- the drain ----------------------------------------------------------------------------------------


def _outstanding(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')) "
                                         "+ (SELECT count(*) FROM backorder_wakeups)")).scalar_one())
    finally:
        engine.dispose()


def drain(url: str, worker: Service, timeout: float) -> float:
    """The running worker delivers what is left (and serves the backorder notes a kill left); then it
    is stopped, and single rounds (`ordo worker --once`) take whatever it still had in flight (after
    its lease) or queued in its last round."""
    began = time.monotonic()
    deadline = began + timeout
    while _outstanding(url) and time.monotonic() < deadline:
        time.sleep(1)
    worker.stop()
    while _outstanding(url) and time.monotonic() < deadline:
        subprocess.run([str(ORDO), "worker", "--once"], env=worker.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False, timeout=120)
        time.sleep(1)
    return round(time.monotonic() - began, 1)


# --- one run ----------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def soak(url: str, *, seconds: float, clients: int, workdir: Path, chaos: bool = False, seed: int = 1,
         server_workers: int | None = None, kill_every: float = 45.0, drain_timeout: float = 300.0,
         habits: Habits = Habits()) -> dict[str, Any]:
    """One run against ``url``, a migrated, empty database; the processes' logs and the run's files
    (acknowledged orders, received messages) go to ``workdir``. Returns the result (see the module)."""
    rng = random.Random(seed)
    backend = make_url(url).get_backend_name()
    server_workers = server_workers or (2 if backend == "postgresql" else 1)
    catalogue, tokens = seed_data(url)
    receivers = Receivers(workdir, secret=SECRET, seed=seed)
    receivers.start()
    env = {**os.environ, "ORDO_DATABASE_URL": url, "ORDO_POLICY_FILE": str(policy_file(workdir, receivers)),
           SECRET_ENV: SECRET}
    port = _free_port()
    server = Service("ordo serve", [str(ORDO), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                                    str(server_workers), "--no-print-admin-token", "--no-with-worker"],
                     env, workdir / "server.log")
    worker = Service("ordo worker", [str(ORDO), "worker", "--interval", "0.5"], env, workdir / "worker.log")
    world, tally, outages = World(), Tally(), Outages()
    restarts: dict[str, list[float]] = {"server": [], "worker": []}
    try:
        server.start()
        wait_healthy(port, server)
        worker.start()
        outages.up_since = time.monotonic()

        async def load() -> float:
            began = time.monotonic()
            jobs = [drive(f"http://127.0.0.1:{port}", world, tally, outages, catalogue, tokens, clients=clients,
                          seconds=seconds, seed=seed, run_id=f"S{seed}", habits=habits)]
            if chaos:
                jobs.append(chaos_server(server, port, outages, kill_plan(seconds, kill_every, rng), began, restarts))
                jobs.append(chaos_worker(worker, kill_plan(seconds, kill_every, rng), began, rng, restarts))
            return (await asyncio.gather(*jobs))[0]

        elapsed = asyncio.run(load())
        server.stop()
        drained = drain(url, worker, drain_timeout)
        received = receivers.received()
    finally:
        server.stop()
        worker.stop()
        receivers.stop()
    (workdir / "acknowledged.json").write_text(json.dumps(world.acknowledged), encoding="utf-8")
    (workdir / "received.json").write_text(json.dumps(received), encoding="utf-8")
    report = check_url(url, acknowledged=world.acknowledged, received=received,
                       policy=Settings(policy_file=workdir / "policy.toml").load_policy())
    worker_failures = _count(workdir / "worker.log", "worker round failed")
    if worker_failures:
        tally.errors["worker round failed"] += worker_failures
    requests = sum(tally.requests.values())
    groups = sorted(tally.latencies)
    return {
        "bench": "soak", "database": backend, "seconds": round(elapsed, 1), "clients": clients, "chaos": chaos,
        "seed": seed, "server_workers": server_workers,
        "habits": {"claims": habits.claims, "exclusive_forward": habits.exclusive_forward,
                   "mix": dict(habits.mix)},
        "requests": requests, "requests_per_s": round(requests / elapsed, 1),
        "by_kind": dict(sorted(tally.requests.items())),
        "latency_ms": {g: {"p50": _pct(tally.latencies[g], 0.5), "p95": _pct(tally.latencies[g], 0.95),
                           "p99": _pct(tally.latencies[g], 0.99)} for g in groups},
        "refusals": sum(tally.refusals.values()), "refusals_by_kind": dict(sorted(tally.refusals.items())),
        "errors": sum(tally.errors.values()), "errors_by_kind": dict(sorted(tally.errors.items())),
        "error_samples": tally.samples[:10],
        "interrupted": dict(sorted(tally.interrupted.items())),
        "kills": {"server": len(restarts["server"]), "worker": len(restarts["worker"])},
        "back_after_s": restarts,
        "orders_acknowledged": len(world.acknowledged), "intake": dict(sorted(tally.intake.items())),
        "receiver_refusals": receivers.refused(), "drain_s": drained,
        "server_unhandled_errors": unhandled(workdir / "server.log"),
        "check": report.summary(),
        "python": platform.python_version(), "cpus": os.cpu_count(), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


_UNHANDLED = re.compile(r"^unhandled error on (\S+) (\S+)$")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Detected|Violation)\w*)(?::\s*(.*))?$")


def unhandled(log: Path) -> dict[str, int]:
    """The server's 500s from its log: "METHOD route: exception: message" (the last exception of
    each traceback; order numbers in the route replaced by N) → how many."""
    found: Counter[str] = Counter()
    if not log.exists():
        return {}
    route, exception, continued = None, None, False
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        start = _UNHANDLED.match(line)
        if start:
            if route:
                found[f"{route}: {exception}"] += 1
            route, exception = f"{start[1]} {re.sub(r'[0-9]{3,}', 'N', start[2])}", "?"
        elif route:
            m = _EXCEPTION.match(line)
            if continued:  # the message went on to the next line
                exception, continued = f"{exception}{line.strip()[:120]}", False
            elif m:
                message = re.sub(r"^\(raised as a result of Query-invoked autoflush;[^)]*\)\s*", "", m[2] or "")
                exception, continued = f"{m[1]}: {message.strip()[:120]}", not message.strip()
            elif line.startswith("INFO:") or line.startswith("--- start"):
                found[f"{route}: {exception}"] += 1
                route = None
    if route:
        found[f"{route}: {exception}"] += 1
    return dict(sorted(found.items()))


def _count(log: Path, needle: str) -> int:
    if not log.exists():
        return 0
    return len(re.findall(re.escape(needle), log.read_text(encoding="utf-8", errors="replace")))


@app.callback()
def main() -> None:
    """Soak and crash runs (one command, `run`, so that more can follow)."""


@app.command()
def run(minutes: float = typer.Option(10.0, help="How long the load runs"),
        clients: int = typer.Option(16, help="Concurrent closed-loop clients"),
        database_url: str | None = typer.Option(None, help="PostgreSQL server for the scratch database; "
                                                           "default a SQLite file"),
        chaos: bool = typer.Option(False, help="Kill -9 the server and the worker at random moments"),
        kill_every: float = typer.Option(45.0, help="With --chaos: about one kill of each per this many seconds"),
        seed: int = typer.Option(1, help="Random seed of the mix and the kill moments"),
        claims: bool = typer.Option(True, help="Reviewers claim an order before deciding"),
        exclusive_forward: bool = typer.Option(False, help="One client at a time moves an order's shipments on"),
        weight: list[str] = typer.Option([], help="KIND=N: another weight for a kind of bench/traffic.py's MIX"),
        server_workers: int | None = typer.Option(None, help="ordo serve --workers (default 2 on PostgreSQL, "
                                                             "1 on SQLite)"),
        keep: Path | None = typer.Option(None, help="Keep the logs and the run's files in this directory")) -> None:
    """One soak run; prints the result as one JSON line."""
    with tempfile.TemporaryDirectory() as tmp, scratch_database(database_url) as url:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:  # a kept directory holds one run
            (workdir / name).unlink(missing_ok=True)
        result = soak(url, seconds=minutes * 60, clients=clients, workdir=workdir, chaos=chaos, seed=seed,
                      server_workers=server_workers, kill_every=kill_every,
                      habits=Habits(claims=claims, exclusive_forward=exclusive_forward,
                                    mix=tuple((k, int(n)) for k, n in (w.split("=", 1) for w in weight))))
    print(json.dumps(result, ensure_ascii=False))
    sys.exit(0 if result["check"]["ok"] and result["errors"] == 0 else 1)


if __name__ == "__main__":
    app()
