"""bench/http_load.py: its lean client answers as a real HTTP client does (against uvicorn), and the
benchmark in its reduced form (one client for a second, one worker) prints its one JSON line."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from http_load import LeanClient  # noqa: E402

KEEP_ALIVE_S = 1  # the test server closes a connection idle for longer


async def _echo(request: Request) -> Response:
    body = await request.json()
    peer = request.client.port if request.client else None
    answer = {"got": body, "peer": peer, "authorization": request.headers.get("authorization"),
              "path": request.url.path}
    if body.get("big"):
        answer["padding"] = "x" * 200_000  # more than one read of the socket
    headers = {"Connection": "close"} if body.get("close") else {}
    return JSONResponse(answer, status_code=201 if body.get("created") else 200, headers=headers)


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Starlette(routes=[Route("/{path:path}", _echo, methods=["POST"])])
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                            timeout_keep_alive=KEEP_ALIVE_S))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def test_the_lean_client_sends_the_headers_and_body_and_keeps_the_connection(server):
    async def go():
        client = LeanClient(server, {"Authorization": "Bearer t0k"})
        first = await client.post("/api/v1/orders", json={"n": 1, "name": "茶"})
        second = await client.post("/api/v1/orders/X-1/hold", json={"n": 2, "created": True})
        await client.aclose()
        return first, second

    first, second = asyncio.run(go())
    assert (first.status_code, second.status_code) == (200, 201)
    assert first.json()["got"] == {"n": 1, "name": "茶"} and second.json()["got"] == {"n": 2, "created": True}
    assert first.json()["authorization"] == "Bearer t0k"
    assert (first.json()["path"], second.json()["path"]) == ("/api/v1/orders", "/api/v1/orders/X-1/hold")
    assert first.json()["peer"] == second.json()["peer"]  # the same kept-alive connection


def test_the_lean_client_reads_long_answers_whole_and_opens_a_new_connection_after_a_close(server):
    async def go():
        client = LeanClient(server, {})
        big = await client.post("/", json={"big": True})
        closing = await client.post("/", json={"close": True})
        after = await client.post("/", json={})
        concurrent = await asyncio.gather(*(client.post("/", json={"i": i}) for i in range(3)))
        await client.aclose()
        return big, closing, after, concurrent

    big, closing, after, concurrent = asyncio.run(go())
    assert len(big.json()["padding"]) == 200_000
    assert closing.json()["peer"] == big.json()["peer"]
    assert after.json()["peer"] != closing.json()["peer"]  # the server closed that one
    assert [a.json()["got"] for a in concurrent] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert len({a.json()["peer"] for a in concurrent}) == 3  # one request in flight per connection


def test_the_lean_client_sends_again_on_a_new_connection_when_the_server_closed_an_idle_one(server):
    async def go():
        client = LeanClient(server, {})
        before = await client.post("/", json={"n": 1})
        await asyncio.sleep(KEEP_ALIVE_S + 0.5)  # the server closes the idle connection meanwhile
        after = await client.post("/", json={"n": 2})
        await client.aclose()
        return before, after

    before, after = asyncio.run(go())
    assert (before.status_code, after.status_code, after.json()["got"]) == (200, 200, {"n": 2})
    assert after.json()["peer"] != before.json()["peer"]


def test_http_load_in_its_reduced_form_prints_one_json_line_without_errors():
    run = subprocess.run([sys.executable, str(BENCH / "http_load.py"), "--clients", "1", "--seconds", "1",
                          "--workers", "1", "--minimal", "--warmup", "10"],
                         capture_output=True, text=True, timeout=300, cwd=BENCH)
    assert run.returncode == 0, run.stderr[-2000:]
    [line] = run.stdout.splitlines()
    result = json.loads(line)
    assert (result["benchmark"], result["client"], result["answer"], result["mode"], result["errors"]) == (
        "http_load", "lean", "minimal", "closed, 1 clients", {})
    assert result["warmup"] == 10
    assert len(result["speed_loop_ms"]) == 2 and min(result["speed_loop_ms"]) > 0  # before and after
    assert result["created"] == result["sent"] > 0 and result["status_changes"] > 0  # the warm-up's not counted
    assert 0 < result["create_p50_ms"] <= result["create_p95_ms"]
    assert 0 < result["status_p50_ms"] <= result["status_p95_ms"]
