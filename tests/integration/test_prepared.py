"""Prepared statements on the session's connection (``adapters.db.prepared``), and psycopg keeping
the parsing of Ordo's batched INSERTs (``adapters.db.engine.CACHED_STATEMENT_PARAMS``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import bindparam, event, func, insert, select, text

from ordo.adapters.db import engine as engines
from ordo.adapters.db import prepared
from ordo.catalog.tables import Sku

_SKUS = select(func.count()).select_from(Sku).where(Sku.code.like(bindparam("prefix")))


def _sku(code: str) -> Sku:
    return Sku(code=code, name=code, category="tea", traits=[], price=Decimal("1.00"))


def test_a_prepared_read_sees_the_sessions_pending_rows_as_an_orm_read_would(ordo):
    with ordo.transaction() as uow:
        uow.session.add(_sku("P-1"))
        assert prepared.connection(uow.session).execute(_SKUS, {"prefix": "P-%"}).scalar_one() == 1
        uow.session.add(_sku("P-2"))
        with uow.session.no_autoflush:  # none inside: as an ORM read there
            assert prepared.connection(uow.session).execute(_SKUS, {"prefix": "P-%"}).scalar_one() == 1
        assert prepared.connection(uow.session).execute(_SKUS, {"prefix": "P-%"}).scalar_one() == 2


def test_a_row_inserted_and_loaded_is_not_written_again_and_is_read_without_a_query(ordo):
    values = {"code": "L-1", "barcode": None, "name": "Loaded", "category": "tea", "weight_g": 0, "length_mm": 0,
              "width_mm": 0, "height_mm": 0, "price": Decimal("2.50"), "currency": "CNY", "traits": ["fragile"],
              "hs_code": None, "declared_value": None, "origin_country": None, "active": True}
    statements: list[str] = []
    with ordo.transaction() as uow:
        session = uow.session
        sku_id = prepared.connection(session).execute(insert(Sku).returning(Sku.id), values).scalar_one()
        sku = prepared.loaded(session, Sku(id=sku_id, **values))
        listen = event.listens_for(session.connection(), "before_cursor_execute")
        listen(lambda _c, _cur, statement, *_rest: statements.append(statement))
        assert (sku.code, sku.price, sku.traits) == ("L-1", Decimal("2.50"), ["fragile"])
        assert session.get(Sku, sku_id) is sku
        session.flush()
        assert statements == []
        sku.name = "Renamed"
        session.flush()
        assert [s.split()[0] for s in statements] == ["UPDATE"]
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Sku.name).where(Sku.code == "L-1")).all() == ["Renamed"]


def test_psycopg_keeps_the_parsing_of_a_batch_of_more_than_fifty_parameters(database):
    if database.kind != "postgresql":
        pytest.skip("psycopg's parse cache")
    from psycopg import _queries

    engine = engines.make_engine(database.url, pool_size=1)
    assert _queries.MAX_CACHED_STATEMENT_PARAMS == engines.CACHED_STATEMENT_PARAMS
    names = [f"p{i}" for i in range(60)]
    statement = text("SELECT " + " + ".join(f"CAST(:{n} AS integer)" for n in names))
    try:
        with engine.connect() as conn:
            conn.execute(statement, dict.fromkeys(names, 1))
            before = _queries._query2pg.cache_info()
            assert conn.execute(statement, dict.fromkeys(names, 2)).scalar_one() == 120
            after = _queries._query2pg.cache_info()
    finally:
        engine.dispose()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses
