"""The soak and crash runs of bench/soak.py in their reduced form (the full ones are `make soak`):
16 closed-loop clients of mixed traffic against `ordo serve` and `ordo worker` for some seconds —
and once with both killed by SIGKILL mid-run — then the database, the clients' list and the
receivers' records are compared, by the checker and again here by hand."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.bench_modules import soak

CLIENTS = 16
# Full habits: reviewers claim, clients race on the same shipments, receipts serve backorders — the
# three bugs the soak found there are fixed (tests/integration/test_review_claim_deadlock.py,
# test_pack_race.py, test_receipt_deadlock.py).
HABITS = soak.Habits()


def rows(database, sql: str) -> list[tuple]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def assert_nothing_lost_or_left_over(result: dict, database, workdir) -> None:
    assert result["errors"] == 0, (result["errors_by_kind"], result["error_samples"])
    assert result["check"]["violations"] == 0, result["check"]["shown"]
    # The clients' list and the database agree exactly: every acknowledged order stored once under the
    # number the client was told, and nothing stored that no client heard of.
    acknowledged = json.loads((workdir / "acknowledged.json").read_text())
    assert dict(rows(database, "SELECT external_id, number FROM orders")) == acknowledged
    assert len(acknowledged) == result["orders_acknowledged"] > 0
    assert rows(database, "SELECT count(*) FROM orders GROUP BY shop_id, external_id HAVING count(*) > 1") == []
    # Every message was delivered, and reached the receiver of its channel at least once.
    assert rows(database, "SELECT DISTINCT status FROM outbox") == [("sent",)]
    received = json.loads((workdir / "received.json").read_text())
    got = {key for keys in received.values() for key in keys}
    assert {key for (key,) in rows(database, "SELECT key FROM outbox")} == got
    assert rows(database, "SELECT count(*) FROM stock WHERE reserved < 0 OR reserved > on_hand") == [(0,)]
    # What the clients provoked on purpose was refused every time, as documented.
    for kind, refusal in (("intake_conflict", "409 idempotency_conflict"), ("intake_invalid", "422 validation_failed"),
                          ("query.track_wrong", "404 not_found"), ("action_invalid", "422 validation_failed")):
        assert result["refusals_by_kind"].get(f"{kind} {refusal}", 0) == result["by_kind"].get(kind, 0)


def test_mixed_traffic_from_sixteen_clients_leaves_a_consistent_database(ordo, database, tmp_path):
    seconds = 16 if database.kind == "postgresql" else 10

    result = soak.soak(database.url, seconds=seconds, clients=CLIENTS, workdir=tmp_path, seed=7, habits=HABITS)

    assert_nothing_lost_or_left_over(result, database, tmp_path)
    assert (result["kills"], result["interrupted"], result["intake"].get("retried", 0)) == (
        {"server": 0, "worker": 0}, {}, 0)
    assert result["intake"] == {"created": result["orders_acknowledged"]}
    assert result["by_kind"]["intake"] == result["orders_acknowledged"]  # every intake answered 201 at once


def test_killing_the_server_and_the_worker_mid_run_loses_and_duplicates_nothing(ordo, database, tmp_path):
    if database.kind != "postgresql":
        pytest.skip("the crash run is a PostgreSQL one (`ordo serve --workers 2` beside `ordo worker`)")

    result = soak.soak(database.url, seconds=26, clients=CLIENTS, workdir=tmp_path, chaos=True, kill_every=26,
                       seed=11, habits=HABITS)

    assert result["kills"] == {"server": 1, "worker": 1}
    assert_nothing_lost_or_left_over(result, database, tmp_path)
    # Requests were cut off or refused a connection while the server was down, and the intakes among
    # them were retried with the same external id until answered.
    assert sum(result["interrupted"].values()) > 0
    assert result["intake"].get("retried", 0) > 0
    assert result["by_kind"]["intake"] == result["orders_acknowledged"]  # each answered once, in the end
