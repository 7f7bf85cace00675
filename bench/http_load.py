"""HTTP load: `ordo serve` with several workers against an open-loop load generator on 127.0.0.1.

    python bench/http_load.py --rate 200 --seconds 30 --workers 2 [--database-url URL]
    python bench/http_load.py --clients 8 --seconds 30 --workers 2      # closed loop: capacity

Orders are sent at a fixed rate whatever the answers' latency (open loop, so a slow server shows
as latency instead of quietly lowering the rate); every created order then gets a status change
(hold, and later release) at the same rate. With ``--clients N`` the load is closed-loop instead:
N clients each send their next request when the last one is answered (an order, then a hold or a
release of an earlier one), which measures what the server can serve. ``--no-changes`` sends
creations alone (the target's load: 200 creations a second). ``--minimal`` sends
``Prefer: return=minimal``, so creations and status changes are answered with the order's summary
instead of the full detail. Prints one JSON line: requests sent and per second achieved, p50/p95/p99
of order creation and of status changes, errors by status code.

The client is lean by default (``--client lean``: keep-alive HTTP/1.1 connections over asyncio
streams on uvloop, requests written as bytes, answers read with httptools' C parser), so the
figures are the server's and not the load generator's: on this 2-core machine the generator
shares the cores with the server, and httpx spends about a millisecond of CPU on each request
and answer. ``--client httpx`` measures through httpx instead, for comparison.

Before the measured run, ``--warmup N`` creations (200 by default; each followed by a status change
unless ``--no-changes``) are sent from 8 clients and not counted: a worker's first requests fill its
caches (compiled statements, reference copies, connections); without the warm-up they made the
p99 of every run and, at a rate near capacity, a queue that the measured seconds inherited.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httptools
import httpx2 as httpx
import typer
import uvloop
from intake import payload, scratch_database, seed, speed_loop_ms

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


class _Answer:
    """What the lean client hands back: the status code and the body, parsed as JSON on demand."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        return json.loads(self.content)


class _Reading:
    """httptools' callbacks for one answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # Asked here: once the message is over the parser starts on the next and has forgotten it.
        self.complete, self.keep_alive = True, self.parser.should_keep_alive()


class LeanClient:
    """Keep-alive HTTP/1.1 connections to one server, one request in flight on each (a request that
    finds none idle opens another): the request is written as bytes, the answer read with httptools'
    parser. Enough for a load generator, not a general client (no redirects, no chunked requests)."""

    def __init__(self, base: str, headers: dict[str, str], timeout: float = 30) -> None:
        url = httpx.URL(base)
        self._host, self._port, self._timeout = url.host, url.port or 80, timeout
        self._head = "".join(f"{name}: {value}\r\n" for name, value in
                             {"Host": f"{url.host}:{self._port}", **headers}.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, *, json: Any) -> _Answer:
        return await asyncio.wait_for(self._send("POST", path, _dumps(json)), self._timeout)

    async def _send(self, method: str, path: str, body: bytes) -> _Answer:
        request = (f"{method} {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        while self._idle:
            # A kept-alive connection the server has closed meanwhile (its keep-alive timeout) answers
            # nothing: the request never reached it, and goes again on another, as clients do.
            reader, writer = self._idle.pop()
            answer = await self._exchange(reader, writer, request)
            if answer is not None:
                return answer
        reader, writer = await asyncio.open_connection(self._host, self._port)
        answer = await self._exchange(reader, writer, request)
        if answer is None:
            raise ConnectionError("the server closed the connection before answering")
        return answer

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        request: bytes) -> _Answer | None:
        """The answer to ``request`` on this connection; None if the connection was closed before
        any of it came."""
        writer.write(request)
        reading, started = _Reading(), False
        while not reading.complete:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                writer.close()
                if started:
                    raise ConnectionError("the server closed the connection in the middle of its answer")
                return None
            started = True
            reading.parser.feed_data(data)
        if reading.keep_alive:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return _Answer(reading.parser.get_status_code(), b"".join(reading.body))

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@asynccontextmanager
async def _client(kind: str, base: str, headers: dict[str, str]) -> AsyncIterator[LeanClient | httpx.AsyncClient]:
    if kind == "httpx":
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
            yield client
        return
    lean = LeanClient(base, headers)
    try:
        yield lean
    finally:
        await lean.aclose()


WARMUP_CLIENTS = 8


async def _drive(base: str, token: str, rate: float, seconds: float, clients: int = 0,
                 minimal: bool = False, client_kind: str = "lean", changes: bool = True,
                 warmup: int = 0) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", **({"Prefer": "return=minimal"} if minimal else {})}
    async with _client(client_kind, base, headers) as client:
        warm = {"errors": {}}
        if warmup:  # another payload series (8): its external ids are not the measured run's
            warm = await _load(client, rate, float("inf"), WARMUP_CLIENTS, changes, series=8, count=warmup)
        result = await _load(client, rate, seconds, clients, changes, series=9)
    result["errors"].update((f"warm-up {kind}", n) for kind, n in warm["errors"].items())
    return result


async def _load(client: LeanClient | httpx.AsyncClient, rate: float, seconds: float, clients: int,
                changes: bool, series: int, count: int | None = None) -> dict[str, Any]:
    """Closed loop with ``clients`` (for ``seconds``, and at most ``count`` creations), else open
    loop at ``rate`` for ``seconds``."""
    created: list[float] = []
    changed: list[float] = []
    errors: dict[str, int] = {}
    numbers: asyncio.Queue[str] = asyncio.Queue()

    async def create(i: int) -> None:
        started = time.perf_counter()
        r = await client.post("/api/v1/orders", json=payload(series, i))
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
            while time.perf_counter() < end and (count is None or sent[0] < count):
                sent[0] += 1
                await create(sent[0])
                if not changes:
                    continue
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
        if not changes:
            continue
        if held and i % 2:
            tasks.append(asyncio.create_task(change(held.pop(0), "release")))
        elif not numbers.empty():
            tasks.append(asyncio.create_task(change(numbers.get_nowait(), "hold")))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    return {"created": created, "changed": changed, "errors": errors, "elapsed": elapsed, "sent": total}


@app.command()
def main(rate: float = 200, seconds: float = 30, workers: int = 2, database_url: str | None = None,
         clients: int = 0, minimal: bool = False,
         client: str = typer.Option("lean", help="lean (httptools over asyncio streams) or httpx"),
         changes: bool = typer.Option(True, help="Follow each creation with a status change (--no-changes: "
                                                  "creations alone)"),
         warmup: int = typer.Option(200, min=0, help="Creations sent first from 8 clients, not counted")) -> None:
    if client not in ("lean", "httpx"):
        raise typer.BadParameter("lean or httpx", param_hint="--client")
    speed_before = speed_loop_ms()
    with scratch_database(database_url) as url:
        seed(url, stock=1_000_000)
        token = _token(url)
        port = _free_port()
        server = _start_server(url, port, workers)
        try:
            result = uvloop.run(_drive(f"http://127.0.0.1:{port}", token, rate, seconds, clients, minimal, client,
                                       changes, warmup))
        finally:
            server.terminate()
            server.wait(timeout=30)
    created, changed = result["created"], result["changed"]
    print(json.dumps({
        "benchmark": "http_load", "database": url.split(":", 1)[0], "workers": workers,
        "mode": f"closed, {clients} clients" if clients else "open", "rate": None if clients else rate,
        "answer": "minimal" if minimal else "detail", "client": client, "status_changes_sent": changes,
        "seconds": seconds, "warmup": warmup, "sent": result["sent"], "created": len(created),
        "orders_per_s": round(len(created) / result["elapsed"], 1),
        "create_p50_ms": _pct(created, 0.50), "create_p95_ms": _pct(created, 0.95),
        "create_p99_ms": _pct(created, 0.99),
        "create_mean_ms": round(statistics.fmean(created) * 1000, 2) if created else None,
        "status_changes": len(changed), "status_p50_ms": _pct(changed, 0.50),
        "status_p95_ms": _pct(changed, 0.95), "status_p99_ms": _pct(changed, 0.99),
        "errors": result["errors"], "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "speed_loop_ms": [speed_before, speed_loop_ms()],  # before and after the run
    }))


if __name__ == "__main__":
    app()
