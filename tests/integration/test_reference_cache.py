"""The per-process copies of SKUs, shops, warehouses and rule sets (``adapters.db.reference``):
read once, used while no one writes those tables, and never older than what a command should see."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ordo.adapters.db.reference import ReferenceGeneration
from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo
from ordo.catalog.handlers import deactivate_sku
from ordo.catalog.queries import active_skus, sku_views
from ordo.catalog.tables import Sku
from ordo.inventory.handlers import warehouse_views
from ordo.kernel.errors import ValidationFailed
from ordo.order.handlers import intake
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order
from ordo.settings import Settings
from tests.factories import order_payload, seed


def _submit(ordo: Ordo, external_id: str) -> str:
    submission = OrderSubmission.model_validate(order_payload(external_id=external_id))
    return intake(ordo, submission=submission, actor=Actor.system())[0]


def _generation(database) -> tuple[int, float]:
    with database.engine.connect() as conn:
        row = conn.execute(select(ReferenceGeneration.number, ReferenceGeneration.token)).one()
    return row.number, row.token


@pytest.fixture
def other(database, clock):
    """A second Ordo on the same database: another process, as far as the copies go."""
    return Ordo(Settings(database_url=database.url), clock=clock, engine=database.engine)


def test_a_second_intake_reads_no_reference_table(ordo):
    seed(ordo)
    _submit(ordo, "REF-1")
    reads = ordo.reference.reads
    _submit(ordo, "REF-2")
    assert ordo.reference.reads == reads


def test_a_sku_deactivated_by_another_process_is_refused_at_the_next_intake(ordo, other):
    seed(ordo)
    _submit(ordo, "REF-1")
    with other.transaction() as uow:
        deactivate_sku(uow, code="TEA-001", actor=Actor.system())
    with pytest.raises(ValidationFailed) as refused:
        _submit(ordo, "REF-2")
    assert [(p.path, p.key) for p in refused.value.problems] == [("lines[0].sku", "sku_unknown")]


def test_a_change_in_plain_sql_is_seen_by_the_next_command(ordo, database):
    seed(ordo)
    with ordo.reading() as uow:
        tea = active_skus(uow.session, ["TEA-001"])["TEA-001"]
        assert sku_views(uow.session, [tea.id])[tea.id].traits == frozenset()
        assert [w.code for w in warehouse_views(uow.session)] == ["WH-SH", "WH-BJ", "WH-LA"]
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE skus SET traits = '[\"fragile\"]' WHERE code = 'TEA-001'"))
        conn.execute(text("UPDATE warehouses SET active = false WHERE code = 'WH-BJ'"))
    with ordo.reading() as uow:
        assert sku_views(uow.session, [tea.id])[tea.id].traits == frozenset({"fragile"})
        assert [w.code for w in warehouse_views(uow.session)] == ["WH-SH", "WH-LA"]


def test_a_command_sees_its_own_writes_and_a_rolled_back_one_leaves_no_copy(ordo):
    seed(ordo)
    with ordo.transaction() as uow:
        assert "TEA-001" in active_skus(uow.session, ["TEA-001"])
        uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one().name = "Renamed"
        uow.session.flush()
        assert active_skus(uow.session, ["TEA-001"])["TEA-001"].name == "Renamed"
        uow.session.rollback()
    with ordo.reading() as uow:
        assert active_skus(uow.session, ["TEA-001"])["TEA-001"].name == "Tea-001"


def _confirmed_under(ordo: Ordo, number: str) -> int:
    with ordo.reading() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        data = uow.session.scalars(select(Event.data).where(Event.order_id == order.id,
                                                            Event.name == "order.confirm")).one()
    return int(data["rule_set_version"])


def test_a_new_rule_set_version_applies_to_the_next_order(ordo, database):
    seed(ordo)
    assert _confirmed_under(ordo, _submit(ordo, "REF-1")) == 0
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO review_rule_sets (version, rules, created_by, created_at) "
                          "VALUES (7, '[]', 'test', '2026-03-15 02:00:00')"))
    assert _confirmed_under(ordo, _submit(ordo, "REF-2")) == 7


@pytest.mark.parametrize("statement", [
    "INSERT INTO shops (code, name, channel, active, created_at) VALUES ('new', 'New', 'web', true, '2026-03-15')",
    "UPDATE skus SET name = 'x' WHERE code = 'TEA-001'",
    "UPDATE warehouses SET priority = 5 WHERE code = 'WH-BJ'",
    "INSERT INTO review_rule_sets (version, rules, created_by, created_at) VALUES (3, '[]', 'test', '2026-03-15')",
    "DELETE FROM shops WHERE code = 'tmall'",
])
def test_every_write_to_a_reference_table_moves_the_generation_on(ordo, database, statement):
    seed(ordo)
    before = _generation(database)
    with database.engine.begin() as conn:
        conn.execute(text(statement))
    after = _generation(database)
    assert after[0] > before[0] and after[1] != before[1]


def test_writes_to_other_tables_leave_the_generation_alone(ordo, database):
    seed(ordo)
    before = _generation(database)
    _submit(ordo, "REF-1")
    assert _generation(database) == before


def test_a_rolled_back_generation_is_not_seen_again(ordo, database):
    seed(ordo)
    with database.engine.connect() as conn, conn.begin() as transaction:
        conn.execute(text("UPDATE skus SET name = 'x' WHERE code = 'TEA-001'"))
        abandoned = conn.execute(select(ReferenceGeneration.number, ReferenceGeneration.token)).one()
        transaction.rollback()
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE skus SET name = 'y' WHERE code = 'TEA-001'"))
    number, token = _generation(database)
    assert number == abandoned.number and token != abandoned.token


def test_without_copies_every_look_up_reads(database, clock):
    ordo = Ordo(Settings(database_url=database.url, reference_cache_size=0), clock=clock, engine=database.engine)
    database.empty()
    seed(ordo)
    _submit(ordo, "REF-1")
    _submit(ordo, "REF-2")
    assert ordo.reference.reads == 0
