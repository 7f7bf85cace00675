"""HTTP load: `ordo serve` with several workers against an open-loop load generator on 127.0.0.1.

    python bench/http_load.py --rate 200 --seconds 30 --workers 2 [--database-url URL]
    python bench/http_load.py --clients 8 --seconds 30 --workers 2      # closed loop: capacity

Orders are sent at a fixed rate whatever the answers' latency (open loop, so a slow server shows
as latency instead of quietly lowering the rate); every created order then gets a status change
(hold, and later release) at the same rate. With ``--clients N`` the load is closed-loop instead:
N clients each send their next request when the last one is answered (an order, then a hold or a
release of an earlier one), which measures what the server can serve. ``--minimal`` sends
``Prefer: return=minimal``, so creations and status changes are answered with the order's summary
instead of the full detail. Prints one JSON line: requests sent and per second achieved, p50/p95/p99
of order creation and of status changes, errors by status code.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import typer
from intake import payload, scratch_database, seed

from ordo.auth.handlers import add_user, create_token
from ordo.auth.model import Role
from ordo.bootstrap import Ordo
from ordo.settings import Settings

app = typer.Typer(add_completion=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(url: str) -> str:
    ordo = Ordo(Settings(database_url=url))
    with ordo.transaction() as uow:
        add_user(uow, username="bench", roles=[Role.ADMIN], display_name="Bench")
    with ordo.transaction() as uow:
        token = create_token(uow, username="bench", name="bench", ttl=timedelta(hours=2))
    ordo.dispose()
    return token


def _start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "ordo"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--no-print-admin-token", "--no-with-worker"]
    env = {**os.environ, "ORDO_DATABASE_URL": url}
    quiet = None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL  # BENCH_VERBOSE=1 shows the log
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=quiet)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("ordo serve did not come up within 120 s")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def _drive(base: str, token: str, rate: float, seconds: float, clients: int = 0,
                 minimal: bool = False) -> dict[str, Any]:
    created: list[float] = []
    changed: list[float] = []
    errors: dict[str, int] = {}
    numbers: asyncio.Queue[str] = asyncio.Queue()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    headers = {"Authorization": f"Bearer {token}", **({"Prefer": "return=minimal"} if minimal else {})}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:

        async def create(i: int) -> None:
            started = time.perf_counter()
            r = await client.post("/api/v1/orders", json=payload(9, i))
            if r.status_code == 201:
                created.append(time.perf_counter() - started)
                await numbers.put(r.json()["number"])
            else:
                errors[f"create {r.status_code}"] = errors.get(f"create {r.status_code}", 0) + 1

        async def change(number: str, action: str) -> None:
            started = time.perf_counter()
            r = await client.post(f"/api/v1/orders/{number}/{action}", json={"hold_reason": "awaiting_customer"})
            if r.status_code == 200:
                changed.append(time.perf_counter() - started)
                if action == "hold":
                    held.append(number)
            else:
                errors[f"{action} {r.status_code}"] = errors.get(f"{action} {r.status_code}", 0) + 1

        held: list[str] = []  # orders whose hold went through, to be released
        if clients:
            begin = time.perf_counter()
            end, sent = begin + seconds, [0]

            async def client_loop() -> None:
                while time.perf_counter() < end:
                    sent[0] += 1
                    await create(sent[0])
                    if held and sent[0] % 2:
                        await change(held.pop(0), "release")
                    elif not numbers.empty():
                        await change(numbers.get_nowait(), "hold")

            await asyncio.gather(*(client_loop() for _ in range(clients)))
            return {"created": created, "changed": changed, "errors": errors,
                    "elapsed": time.perf_counter() - begin, "sent": sent[0]}
        tasks: list[asyncio.Task[None]] = []
        interval, begin = 1 / rate, time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            await asyncio.sleep(max(0.0, begin + i * interval - time.perf_counter()))
            tasks.append(asyncio.create_task(create(i)))
            # One status change per created order, alternating hold and release, at the same rate.
            if held and i % 2:
                tasks.append(asyncio.create_task(change(held.pop(0), "release")))
            elif not numbers.empty():
                tasks.append(asyncio.create_task(change(numbers.get_nowait(), "hold")))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return {"created": created, "changed": changed, "errors": errors, "elapsed": elapsed, "sent": total}


@app.command()
def main(rate: float = 200, seconds: float = 30, workers: int = 2, database_url: str | None = None,
         clients: int = 0, minimal: bool = False) -> None:
    with scratch_database(database_url) as url:
        seed(url, stock=1_000_000)
        token = _token(url)
        port = _free_port()
        server = _start_server(url, port, workers)
        try:
            result = asyncio.run(_drive(f"http://127.0.0.1:{port}", token, rate, seconds, clients, minimal))
        finally:
            server.terminate()
            server.wait(timeout=30)
    created, changed = result["created"], result["changed"]
    print(json.dumps({
        "benchmark": "http_load", "database": url.split(":", 1)[0], "workers": workers,
        "mode": f"closed, {clients} clients" if clients else "open", "rate": None if clients else rate,
        "answer": "minimal" if minimal else "detail",
        "seconds": seconds, "sent": result["sent"], "created": len(created),
        "orders_per_s": round(len(created) / result["elapsed"], 1),
        "create_p50_ms": _pct(created, 0.50), "create_p95_ms": _pct(created, 0.95),
        "create_p99_ms": _pct(created, 0.99),
        "create_mean_ms": round(statistics.fmean(created) * 1000, 2) if created else None,
        "status_changes": len(changed), "status_p50_ms": _pct(changed, 0.50),
        "status_p95_ms": _pct(changed, 0.95), "status_p99_ms": _pct(changed, 0.99),
        "errors": result["errors"], "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    app()
