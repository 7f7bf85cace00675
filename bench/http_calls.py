"""Python calls per HTTP request: a measure of the server's work that does not drift with the
machine's speed (this VM's wall-clock figures move by ±40 % within minutes).

    python bench/http_calls.py [--requests 100] [--detail] [--access-log] [--database-url URL]

``ordo``'s app runs under uvicorn in a thread of this process; a client in the main thread
(``http.client``, one kept-alive connection) sends ``/healthz``, status changes (hold, then
release, of orders made beforehand) and creations, one after the other, after a warm-up of each.
yappi counts the calls of every thread but the client's, builtins included: the event loop, the
thread pool and everything they run. Prints one JSON line: calls per request of each kind.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import threading
import time
from typing import Any

import typer
import uvicorn
import yappi
from http_load import _free_port, _token
from intake import payload, scratch_database, seed

app = typer.Typer(add_completion=False)


class _Client:
    def __init__(self, port: int, token: str, minimal: bool) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        **({"Prefer": "return=minimal"} if minimal else {})}

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None,
                                headers=self.headers)
        answer = self.connection.getresponse()
        return answer.status, answer.read()


def _counted(client: _Client, requests: list[tuple[str, str, dict[str, Any] | None]], expected: int) -> float:
    """Python calls per request of the server's threads while ``requests`` are answered."""
    yappi.clear_stats()
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    statuses = {client.send(*request)[0] for request in requests}
    yappi.stop()
    if statuses != {expected}:
        raise SystemExit(f"expected HTTP {expected} for every request, got {sorted(statuses)}")
    mine = threading.get_ident()
    server = [t.id for t in yappi.get_thread_stats() if t.tid != mine]
    calls = sum(stat.ncall for ctx in server for stat in yappi.get_func_stats(ctx_id=ctx))
    return calls / len(requests)


@app.command()
def main(requests: int = 100, detail: bool = False, access_log: bool = False,
         database_url: str | None = None) -> None:
    hold = {"hold_reason": "awaiting_customer"}
    with scratch_database(database_url) as url:
        seed(url, stock=1_000_000)
        token = _token(url)
        os.environ["ORDO_DATABASE_URL"] = url
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config("ordo.entrypoints.api.app:serve_app", factory=True, host="127.0.0.1",
                                               port=port, log_level="warning", access_log=access_log))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise SystemExit("the server did not start")
            time.sleep(0.05)
        try:
            client = _Client(port, token, minimal=not detail)
            warm = 20
            numbers = [json.loads(client.send("POST", "/api/v1/orders", payload(9, i))[1])["number"]
                       for i in range(warm + requests)]
            for number in numbers[:warm]:
                client.send("POST", f"/api/v1/orders/{number}/hold", hold)
                client.send("POST", f"/api/v1/orders/{number}/release", hold)
            changes = [("POST", f"/api/v1/orders/{n}/{action}", hold) for n in numbers[warm:]
                       for action in ("hold", "release")]
            result = {
                "healthz": _counted(client, [("GET", "/healthz", None)] * requests, 200),
                "status_change": _counted(client, changes, 200),
                "creation": _counted(client, [("POST", "/api/v1/orders", payload(8, i)) for i in range(requests)],
                                     201),
            }
        finally:
            server.should_exit = True
            thread.join(10)
    print(json.dumps({
        "benchmark": "http_calls", "database": url.split(":", 1)[0], "answer": "detail" if detail else "minimal",
        "access_log": access_log, "requests": requests,
        "calls_per_request": {kind: round(calls) for kind, calls in result.items()},
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    app()
