"""Prepared statements on the session's connection (``adapters.db.prepared``), and psycopg keeping
the parsing of Ordo's batched INSERTs (``adapters.db.engine.CACHED_STATEMENT_PARAMS``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

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
        sku = prepared.loaded(session, Sku, {"id": sku_id, **values})
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


def test_the_commit_writes_new_events_clocks_and_notices_in_order_with_multi_row_inserts(ordo, clock):
    from ordo.audit.tables import Event
    from ordo.notify.tables import OutboxMessage

    now = clock.now()
    statements: list[str] = []
    with ordo.transaction() as uow:
        session = uow.session
        early = Event(entity="test", entity_id=0, name="early", actor="t", data={"n": 0}, created_at=now)
        session.add(early)
        session.flush()  # written by the unit of work, as before
        events = [Event(entity="test", entity_id=i, name=f"e{i}", actor="t", data={"n": i}, created_at=now)
                  for i in range(1, 21)]
        session.add_all(events[:10])
        session.add(OutboxMessage(topic="t.x", key="t-1", audience="customer", payload={"a": 1},
                                  available_at=now, created_at=now))  # status and attempts left to defaults
        session.add_all(events[10:])
        listen = event.listens_for(session.connection(), "before_cursor_execute")
        listen(lambda _c, _cur, statement, *_rest: statements.append(" ".join(statement.split()[:3])))
    inserts = [s for s in statements if s.startswith("INSERT")]
    # 20 events: one insert of 16 rows and one of 4; one notice.
    assert inserts == ["INSERT INTO events", "INSERT INTO events", "INSERT INTO outbox"]
    assert all(inspect(row).transient for row in events)
    with ordo.reading() as uow:
        rows = uow.session.execute(
            select(Event.name, Event.data).where(Event.entity == "test").order_by(Event.id)).all()
        notice = uow.session.execute(select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.payload)).one()
    assert [r.name for r in rows] == ["early", *(f"e{i}" for i in range(1, 21))]
    assert [r.data["n"] for r in rows] == list(range(21))
    assert tuple(notice) == ("pending", 0, {"a": 1})


def test_new_events_are_not_written_when_the_command_fails(ordo, clock):
    from ordo.audit.tables import Event

    with pytest.raises(RuntimeError), ordo.transaction() as uow:
        uow.session.add(Event(entity="test", entity_id=1, name="lost", actor="t", data={}, created_at=clock.now()))
        raise RuntimeError("the command fails")
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Event.name).where(Event.entity == "test")).all() == []


def test_write_inserts_the_new_events_as_the_commit_would_and_the_commit_does_not_again(ordo, clock):
    """``UnitOfWork.write`` before an answer that reads the command's rows back: the write-once rows
    go in with the prepared inserts (not the unit of work's), the rest is flushed, and the commit
    writes nothing twice."""
    from ordo.audit.tables import Event

    statements: list[str] = []
    with ordo.transaction() as uow:
        session = uow.session
        session.add(_sku("W-1"))
        session.add_all([Event(entity="test", entity_id=i, name=f"w{i}", actor="t", data={}, created_at=clock.now())
                         for i in range(3)])
        listen = event.listens_for(session.connection(), "before_cursor_execute")
        listen(lambda _c, _cur, statement, *_rest: statements.append(" ".join(statement.split()[:3])))
        uow.write()
        assert not session.new
        with session.no_autoflush:  # what the answer reads: the rows are in the database already
            assert session.scalars(select(Event.name).where(Event.entity == "test").order_by(Event.id)).all() \
                == ["w0", "w1", "w2"]
            assert session.scalar(select(func.count()).select_from(Sku).where(Sku.code == "W-1")) == 1
    assert [s for s in statements if s.startswith("INSERT")] == ["INSERT INTO events", "INSERT INTO skus"]
    with ordo.reading() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Event).where(Event.entity == "test")) == 3


def test_insert_rows_answers_every_row_across_its_batches(ordo):
    rows = [{"code": f"R-{i:02d}", "barcode": None, "name": f"Row {i}", "category": "tea", "weight_g": i,
             "length_mm": 0, "width_mm": 0, "height_mm": 0, "price": Decimal("1.00"), "currency": "CNY",
             "traits": [], "hs_code": None, "declared_value": None, "origin_country": None, "active": True}
            for i in range(20)]  # 16 + 4
    with ordo.transaction() as uow:
        ids = dict(prepared.insert_rows(uow.session.connection(), Sku.__table__, rows, returning=("code", "id")))
    with ordo.reading() as uow:
        stored = dict(uow.session.execute(select(Sku.code, Sku.id).where(Sku.code.like("R-%"))).all())
        weights = dict(uow.session.execute(select(Sku.code, Sku.weight_g).where(Sku.code.like("R-%"))).all())
    assert ids == stored
    assert len(set(ids.values())) == 20
    assert weights == {f"R-{i:02d}": i for i in range(20)}


def test_insert_rows_quotes_names_that_are_reserved_words(database):
    table = Table("select", MetaData(), Column("id", Integer, primary_key=True), Column("order", Integer),
                  Column("Group", String(10)))
    table.create(database.engine)
    try:
        with database.engine.begin() as connection:
            answered = prepared.insert_rows(connection, table, [{"order": 1, "Group": "a"}, {"order": 2, "Group": "b"}],
                                            returning=("Group", "order"))
        with database.engine.connect() as connection:
            stored = connection.execute(select(table.c.order, table.c.Group).order_by(table.c.order)).all()
    finally:
        table.drop(database.engine)
    assert sorted(answered) == [("a", 1), ("b", 2)]
    assert stored == [(1, "a"), (2, "b")]


def _row(code: str, *, category: str = "tea", price: str = "1.00", traits: list[str] | None = None) -> dict[str, Any]:
    return {"code": code, "barcode": None, "name": code, "category": category, "weight_g": 0, "length_mm": 0,
            "width_mm": 0, "height_mm": 0, "price": Decimal(price), "currency": "CNY", "traits": traits or [],
            "hs_code": None, "declared_value": None, "origin_country": None, "active": True}


# An IN list, a value the statement holds ("tea"), typed columns read back (JSON, exact decimal).
_TEA = (select(Sku.code, Sku.price, Sku.traits, Sku.active)
        .where(Sku.code.in_(bindparam("codes", expanding=True)), Sku.category == "tea").order_by(Sku.code))


def test_execute_answers_as_sqlalchemy_does_for_every_length_of_an_in_list(ordo):
    with ordo.transaction() as uow:
        connection = uow.session.connection()
        prepared.insert_rows(connection, Sku.__table__, [
            _row("E-1", price="1.50", traits=["fragile"]), _row("E-2", price="20.00"),
            _row("E-3", category="coffee")])
        answered = {}
        for codes in ([], ["E-1"], ["E-1", "E-2", "E-3"], ["E-3", "E-2"], ["E-2"]):
            ours = prepared.execute(connection, _TEA, {"codes": codes})
            assert [tuple(r) for r in ours] == [tuple(r) for r in connection.execute(_TEA, {"codes": codes})]
            answered[len(codes)] = [(r.code, r.price, r.traits, r.active) for r in ours]
        with pytest.raises(NoResultFound):
            prepared.execute(connection, _TEA, {"codes": ["E-3"]}).one()
        with pytest.raises(MultipleResultsFound):
            prepared.execute(connection, _TEA, {"codes": ["E-1", "E-2"]}).one()
    assert answered == {
        0: [], 1: [("E-2", Decimal("20.00"), [], True)],
        3: [("E-1", Decimal("1.50"), ["fragile"], True), ("E-2", Decimal("20.00"), [], True)],
        2: [("E-2", Decimal("20.00"), [], True)],
    }


_BY_CODE = select(Sku.code, Sku.price).where(Sku.code == bindparam("code"))
_RENAME = Sku.__table__.update().where(Sku.code == bindparam("old")).values(name=bindparam("name"))


def test_a_shapes_first_run_says_how_its_rows_are_read_and_later_runs_do_not_ask_the_cursor_again(
        ordo, database, monkeypatch):
    description_reads: list[int] = []
    if database.kind == "postgresql":  # psycopg builds the description afresh on every read
        import psycopg

        real = psycopg.Cursor.description
        monkeypatch.setattr(psycopg.Cursor, "description",
                            property(lambda cursor: description_reads.append(1) or real.fget(cursor)))
    with ordo.transaction() as uow:
        connection = uow.session.connection()
        prepared.insert_rows(connection, Sku.__table__, [_row("D-1", price="2.50"), _row("D-2")])
        description_reads.clear()
        assert prepared.execute(connection, _BY_CODE, {"code": "D-0"}).all() == []  # no rows, still columns
        first = prepared.execute(connection, _BY_CODE, {"code": "D-1"}).one()
        assert (first.code, first.price) == ("D-1", Decimal("2.50"))
        assert prepared.execute(connection, _BY_CODE, {"code": "D-2"}).one().code == "D-2"
        assert prepared.execute(connection, _RENAME, {"old": "D-1", "name": "renamed"}) == []  # answers no rows
        assert prepared.execute(connection, _RENAME, {"old": "D-2", "name": "renamed"}) == []
        if database.kind == "postgresql":
            assert len(description_reads) == 2  # once for the read's shape, once for the update's
        assert connection.execute(select(func.count()).select_from(Sku).where(Sku.name == "renamed")).scalar() == 2


def test_execute_reads_times_back_as_times(ordo, clock):
    from ordo.audit.tables import Event

    now = clock.now()
    with ordo.transaction() as uow:
        uow.session.add(Event(entity="test", entity_id=7, name="timed", actor="t", data={"n": 7}, created_at=now))
    statement = select(Event.created_at, Event.data).where(Event.entity_id == bindparam("entity_id"))
    with ordo.reading() as uow:
        row = prepared.execute(uow.session.connection(), statement, {"entity_id": 7}).one()
    assert isinstance(row.created_at, datetime)
    assert (row.created_at.replace(tzinfo=None), row.data) == (now.replace(tzinfo=None), {"n": 7})


def test_a_unique_conflict_through_execute_is_sqlalchemys_integrity_error_and_nothing_is_kept(ordo):
    with pytest.raises(IntegrityError) as caught, ordo.transaction() as uow:
        connection = uow.session.connection()
        prepared.insert_rows(connection, Sku.__table__, [_row("U-1")])
        prepared.insert_rows(connection, Sku.__table__, [_row("U-1")])
    assert "INSERT INTO skus" in str(caught.value)
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Sku.code).where(Sku.code == "U-1")).all() == []


def test_an_insert_leaving_out_a_column_with_a_python_default_is_run_by_sqlalchemy(ordo):
    statement = insert(Sku).returning(Sku.currency, Sku.traits, Sku.weight_g)
    params = {"code": "D-1", "name": "D", "category": "tea", "price": Decimal("1.00")}
    with ordo.transaction() as uow:
        connection = uow.session.connection()
        assert prepared._shape(connection.dialect, statement, params) is None  # the defaults are Python's
        row = prepared.execute(connection, statement, params).one()
    assert tuple(row) == ("CNY", [], 0)


def _an_order(ordo: Any) -> str:
    from ordo.auth.model import Actor
    from ordo.order.handlers import intake
    from ordo.order.model import OrderSubmission
    from tests.factories import order_payload, seed

    seed(ordo)
    number, _ = intake(ordo, submission=OrderSubmission.model_validate(order_payload()), actor=Actor.system())
    return number


def _statements(session: Any) -> list[str]:
    seen: list[str] = []
    listen = event.listens_for(session.connection(), "before_cursor_execute")
    listen(lambda _c, _cur, statement, *_rest: seen.append(" ".join(statement.split()[:3])))
    return seen


def test_the_commit_writes_plain_changes_with_one_prepared_update_and_the_flush_has_nothing_left(ordo, clock):
    from ordo.order.tables import Order

    number = _an_order(ordo)
    with ordo.transaction() as uow:
        session = uow.session
        order = session.scalars(select(Order).where(Order.number == number)).one()
        version, status = order.version, order.status
        statements = _statements(session)
        order.remark, order.status = "changed", status  # the status set to the value it had: not written
        prepared.update_dirty(session, (Order,))
        assert not session.dirty
        assert order.version == version + 1
        session.flush()
    assert statements == ["UPDATE orders SET"]
    with ordo.reading() as uow:
        assert uow.session.execute(select(Order.remark, Order.version, Order.status)
                                   .where(Order.number == number)).one() == ("changed", version + 1, status)
    with ordo.transaction() as uow:  # nothing really changed: no update, no new version
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        statements = _statements(uow.session)
        order.remark = "changed"
        prepared.update_dirty(uow.session, (Order,))
        assert not uow.session.dirty
    assert statements == []
    with ordo.reading() as uow:
        assert uow.session.scalar(select(Order.version).where(Order.number == number)) == version + 1


def test_a_row_changed_behind_the_sessions_back_is_stale_and_nothing_is_kept(ordo):
    from sqlalchemy.orm.exc import StaleDataError

    from ordo.order.tables import Order

    number = _an_order(ordo)
    with pytest.raises(StaleDataError), ordo.transaction() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        uow.session.execute(text("UPDATE orders SET version = version + 1 WHERE id = :id"), {"id": order.id})
        order.remark = "lost"
        prepared.update_dirty(uow.session, (Order,))
    with ordo.reading() as uow:
        assert uow.session.scalar(select(Order.remark).where(Order.number == number)) is None


def test_changes_the_unit_of_work_must_complete_are_left_to_the_flush(ordo, clock):
    """A changed relationship (the flush sets the new hold's order id from it), a SQL expression, a
    kind not named: the rows stay dirty and the flush writes them as before."""
    from ordo.order.tables import Order, OrderHold

    number = _an_order(ordo)
    with ordo.transaction() as uow:
        session = uow.session
        order = session.scalars(select(Order).where(Order.number == number)).one()
        sku = session.scalars(select(Sku).limit(1)).one()
        weight = sku.weight_g
        order.holds.append(OrderHold(reason="other", note=None, placed_by="t", placed_at=clock.now()))
        order.remark = "with a hold"
        sku.weight_g = Sku.weight_g + 5
        prepared.update_dirty(session, (Order, Sku))
        assert order in session.dirty and sku in session.dirty
    with ordo.reading() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        assert (order.remark, [h.reason for h in order.holds]) == ("with a hold", ["other"])
        assert uow.session.scalar(select(Sku.weight_g).where(Sku.id == sku.id)) == weight + 5


def test_a_hold_and_its_release_write_each_row_once_and_leave_the_flush_nothing(ordo):
    from ordo.auth.model import Actor
    from ordo.order import handlers
    from ordo.order.states import HoldReason

    number = _an_order(ordo)
    for change, expected in ((handlers.hold, ["INSERT INTO events", "INSERT INTO order_holds", "UPDATE orders SET",
                                              "UPDATE sla_clocks SET"]),
                             (handlers.release, ["INSERT INTO events", "UPDATE order_holds SET", "UPDATE orders SET",
                                                 "UPDATE review_findings SET", "UPDATE sla_clocks SET"])):
        with ordo.transaction() as uow:
            statements = _statements(uow.session)
            change(uow, number=number, actor=Actor.system(), reason=HoldReason.AWAITING_CUSTOMER)
            flushes: list[int] = []
            event.listen(uow.session, "before_flush", lambda *_args, seen=flushes: seen.append(1))
        assert sorted(s for s in statements if s.split()[0] in ("INSERT", "UPDATE")) == expected
        assert flushes == []  # the flush found nothing to do: it does not even begin


def test_a_pending_row_is_added_as_its_constructor_would_add_it_and_written_by_the_commit_or_a_flush(ordo, clock):
    from ordo.audit.tables import Event

    at = clock.now()
    given = {"entity": "order", "entity_id": 7, "name": "test.pending", "actor": "t", "created_at": at}
    with ordo.transaction() as uow:
        session = uow.session
        made = prepared.pending(session, Event, {**given, "reason": "by commit"})
        constructed = Event(**given, reason="by constructor")
        session.add(constructed)
        assert made in session.new and inspect(made).pending
        assert (made.order_id, made.from_state, made.data) == (None, None, None)  # not given: None, as constructed
        assert (constructed.order_id, constructed.from_state, constructed.data) == (None, None, None)
    with ordo.transaction() as uow:
        flushed = prepared.pending(uow.session, Event, {**given, "reason": "by flush"})
        uow.session.flush()  # an earlier flush writes it as any pending row
        assert inspect(flushed).persistent and flushed.id is not None
    with ordo.reading() as uow:
        rows = uow.session.execute(select(Event.reason, Event.entity_id, Event.data, Event.created_at)
                                   .where(Event.name == "test.pending").order_by(Event.reason)).all()
    assert [tuple(r) for r in rows] == [(reason, 7, {}, at) for reason in ("by commit", "by constructor", "by flush")]


def test_an_orders_holds_are_read_once_oldest_first_as_the_sessions_entities(ordo):
    from ordo.auth.model import Actor
    from ordo.order import handlers
    from ordo.order.lifecycle import active_hold, holds_of, load_order
    from ordo.order.states import HoldReason
    from ordo.order.tables import OrderHold

    number = _an_order(ordo)
    for reason in (HoldReason.AWAITING_CUSTOMER, HoldReason.OTHER):
        with ordo.transaction() as uow:
            handlers.hold(uow, number=number, actor=Actor.system(), reason=reason)
    with ordo.transaction() as uow:
        handlers.release(uow, number=number, actor=Actor.system(), reason=HoldReason.AWAITING_CUSTOMER)
    with ordo.transaction() as uow:
        session = uow.session
        order = load_order(session, number, Actor.system())
        first = session.scalars(select(OrderHold).where(OrderHold.order_id == order.id).order_by(OrderHold.id)).first()
        statements = _statements(session)
        holds = holds_of(order)
        assert statements == ["SELECT order_holds.id, order_holds.order_id,"]
        assert [(h.reason, h.released_at is None) for h in holds] == [("awaiting_customer", False), ("other", True)]
        assert holds[0] is first  # held by the session already: that object
        assert all(inspect(h).persistent and not inspect(h).modified for h in holds)
        assert holds_of(order) is order.holds is holds and len(statements) == 1  # kept as the loaded collection
        assert active_hold(order, HoldReason.OTHER) is holds[1]
        assert active_hold(order, HoldReason.AWAITING_CUSTOMER) is None  # released


def test_a_row_whose_version_counter_is_not_loaded_is_left_to_the_flush(ordo):
    from ordo.order.tables import Order

    number = _an_order(ordo)
    with ordo.transaction() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        version = order.version
        uow.session.expire(order, ["version"])
        order.remark = "expired counter"
        prepared.update_dirty(uow.session, (Order,))
        assert order in uow.session.dirty
    with ordo.reading() as uow:
        assert uow.session.execute(select(Order.remark, Order.version).where(Order.number == number)).one() == (
            "expired counter", version + 1)


def test_an_order_read_as_a_row_is_the_sessions_entity_and_a_locked_read_refreshes_one_held_already(ordo):
    from ordo.auth.model import Actor
    from ordo.order.lifecycle import load_order
    from ordo.order.tables import Order

    number = _an_order(ordo)
    with ordo.transaction() as uow:
        session = uow.session
        order = load_order(session, number, Actor.system())
        assert inspect(order).persistent and session.get(Order, order.id) is order
        assert [line.line_no for line in order.lines] == [1]  # its relationships load when first used
        session.execute(text("UPDATE orders SET remark = 'behind its back' WHERE id = :id"), {"id": order.id})
        assert load_order(session, number, Actor.system()) is order  # held: given unchanged, as the ORM does
        assert order.remark is None
        assert load_order(session, number, Actor.system(), for_update=True) is order
        assert order.remark == "behind its back"  # a locked read takes the row afresh
