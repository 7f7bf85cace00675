"""bench/storage.py at a small scale: a sample played through the real code, copied to 2,000
orders. Every copy holds every constraint, is as long byte for byte as the sample, and the
figures printed add up. PostgreSQL only (the benchmark measures PostgreSQL's storage)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ordo.adapters.db.engine import make_engine
from tests.factories import load_file

BENCH = Path(__file__).resolve().parents[2] / "bench" / "storage.py"
SAMPLE, ORDERS = 25, 2000
COPIES = ORDERS // SAMPLE


def _bench() -> ModuleType:
    return load_file(BENCH, "bench_storage")


def _count(conn, schema: str, table: str, where: str | None = None) -> int:
    return conn.scalar(text(f"SELECT count(*) FROM {schema}.{table} s WHERE {where or 'true'}"))


def _foreign_keys(conn) -> list[tuple[str, str, str, str]]:
    return conn.execute(text(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, f.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace")).all()


@pytest.mark.postgres_only
def test_the_sample_copied_to_2000_orders_keeps_every_constraint_and_the_figures_add_up(database):
    if database.kind != "postgresql":
        pytest.skip("the storage benchmark measures PostgreSQL")
    storage = _bench()
    with storage.scratch_database(database.url) as url:
        # given / when: the benchmark's run, with the worker every six hours to keep it short
        result = storage.run(url, orders=ORDERS, sample=SAMPLE, checkpoint=1000, worker_every=timedelta(hours=6))
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                sizes = {t: conn.scalar(text(f"SELECT pg_total_relation_size('public.{t}')"))
                         for t in storage.PER_ORDER}
                # then every table that grows with orders holds exactly the sample's rows × 80 …
                for table, where in storage.PER_ORDER.items():
                    assert _count(conn, "public", table) == COPIES * _count(conn, "sample", table, where), table
                # … and the reference data once, as it was
                for table in storage.REFERENCE - {"alembic_version"}:
                    assert _count(conn, "public", table) == _count(conn, "sample", table), table
                # every order number, external id, phone, e-mail and outbox key is unique …
                assert conn.execute(text(
                    "SELECT count(*), count(DISTINCT number), count(DISTINCT (shop_id, external_id)) FROM orders"
                )).one() == (ORDERS, ORDERS, ORDERS)
                assert conn.execute(text("SELECT count(phone), count(DISTINCT phone) FROM customers")).one() == (
                    COPIES * _count(conn, "sample", "customers", "phone IS NOT NULL"),) * 2
                assert conn.scalar(text("SELECT count(*) - count(DISTINCT key) FROM outbox")) == 0
                assert conn.scalar(text("SELECT count(*) - count(DISTINCT number) FROM shipments")) == 0
                # … and as long as the sample's, byte for byte
                for table, column in (("orders", "number"), ("orders", "external_id"), ("orders", "phone"),
                                      ("orders", "email"), ("customers", "phone"), ("customers", "email"),
                                      ("customers", "account"), ("shipments", "number"), ("risk_keys", "digest")):
                    lengths = [conn.scalar(text(f"SELECT sum(octet_length({column})) FROM {schema}.{table}"))
                               for schema in ("public", "sample")]
                    assert lengths[0] == COPIES * lengths[1], (table, column)
                # every foreign key points at a row (the inserts were checked; checked again here)
                fks = _foreign_keys(conn)
                assert len(fks) == conn.scalar(text(
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'sample'::regnamespace"))
                for table, column, target, key in fks:
                    assert conn.scalar(text(
                        f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.{key} = t.{column} "
                        f"WHERE t.{column} IS NOT NULL AND r.{key} IS NULL")) == 0, (table, column)
                # the ids without a foreign key too, each at its own copy's order
                for (table, column), target in storage.LOOSE.items():
                    assert conn.scalar(text(
                        f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.id = t.{column} "
                        f"WHERE t.{column} IS NOT NULL AND r.id IS NULL")) == 0, (table, column)
                assert conn.scalar(text(
                    "SELECT count(*) FROM outbox m JOIN orders o ON o.id = m.order_id "
                    "WHERE m.key LIKE 'notice:%' AND strpos(m.key, o.number) = 0")) == 0
                # events and clocks point at their own copy's order or shipment
                for table in ("events", "sla_clocks"):
                    assert conn.scalar(text(
                        f"SELECT count(*) FROM {table} e LEFT JOIN shipments sh ON sh.id = e.entity_id "
                        "WHERE e.entity = 'shipment' AND sh.order_id IS DISTINCT FROM e.order_id")) == 0, table
                    assert conn.scalar(text(
                        f"SELECT count(*) FROM {table} WHERE entity = 'order' AND entity_id <> order_id")) == 0, table
            # the event log is still append-only: copies were inserted, nothing may be updated
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text("UPDATE events SET actor = 'x' WHERE id = (SELECT min(id) FROM events)"))
        finally:
            engine.dispose()
    # and the figures printed are those of the database, per order
    assert (result["orders"], result["sample_orders"], result["copies"]) == (ORDERS, SAMPLE, COPIES)
    assert set(result["tables"]) == set(storage.PER_ORDER)
    assert {t: v["total"] for t, v in result["tables"].items()} == sizes
    assert result["bytes_per_order"] == round(sum(sizes.values()) / ORDERS, 1)
    for key, part in (("heap_bytes_per_order", "heap"), ("index_bytes_per_order", "indexes"),
                      ("toast_bytes_per_order", "toast")):
        assert result[key] == round(sum(t[part] for t in result["tables"].values()) / ORDERS, 1)
    assert result["tables"]["orders"]["rows_per_order"] == 1.0
    assert [(s["at"], s["orders"]) for s in result["scaling"]] == [
        ("sample as built", SAMPLE), ("packed sample", SAMPLE), ("1000 orders", 1000)]
    assert result["sample"]["created"] == SAMPLE
    assert result["server_version"].split(".")[0].isdigit()
