"""bench/http_calls.py in its reduced form (five requests of each kind): it runs, on both databases,
and prints the one JSON line the benchmarks document, with the calls of each kind of request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "http_calls.py"


def calls(database, *options: str) -> dict:
    url = ["--database-url", database.url] if database.kind == "postgresql" else []
    run = subprocess.run([sys.executable, str(SCRIPT), "--requests", "5", *url, *options],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    [line] = run.stdout.splitlines()
    return json.loads(line)


@pytest.mark.parametrize("detail", [False, True], ids=["short", "detail"])
def test_http_calls_counts_the_servers_calls_of_each_kind_of_request(database, detail):
    result = calls(database, *(["--detail"] if detail else []))

    assert (result["benchmark"], result["requests"], result["answer"], result["access_log"]) == (
        "http_calls", 5, "detail" if detail else "minimal", False)
    assert result["database"].split("+")[0] == ("postgresql" if database.kind == "postgresql" else "sqlite")
    counted = result["calls_per_request"]
    assert list(counted) == ["healthz", "status_change", "creation"]
    # Every kind did work in the server; a status change more than a health check, a creation more still.
    assert 0 < counted["healthz"] < counted["status_change"] < counted["creation"]
