"""Every foreign key into a table that grows with the orders is indexed by its leading column: the
rows of one parent are read by it (an order's lines), and the key's check reads by it when parents
are deleted (retention). Keys into small reference tables (SKUs, warehouses, shops) need none."""

from __future__ import annotations

from ordo.adapters.db.metadata import metadata

REFERENCE_TABLES = {"skus", "warehouses", "shops"}


def _unindexed_foreign_keys() -> list[str]:
    found = []
    for table in metadata.sorted_tables:
        leading = {next(iter(index.columns)).name for index in table.indexes}
        leading |= {next(iter(c.columns)).name for c in table.constraints if getattr(c, "columns", None)
                    and type(c).__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")}
        found += [f"{table.name}.{fk.parent.name} -> {fk.column.table.name}" for fk in table.foreign_keys
                  if fk.parent.name not in leading]
    return sorted(found)


def test_foreign_keys_into_growing_tables_are_indexed():
    missing = [k for k in _unindexed_foreign_keys() if k.rsplit(" -> ", 1)[1] not in REFERENCE_TABLES]
    assert missing == []


def test_an_orders_lines_are_read_by_an_index_leading_with_the_order():
    lines = metadata.tables["order_lines"]
    assert [[c.name for c in ix.columns] for ix in sorted(lines.indexes, key=lambda ix: ix.name)] == [
        ["order_id", "line_no"], ["sku_id", "order_id"]]
