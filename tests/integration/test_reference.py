"""Reference-data handlers on both databases: normalisation, every problem at once, upserts, soft
deletes that keep orders intact, stock receipts with their ledger, permissions and scope, and
nothing written when a command is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from ordo.audit.tables import Event
from ordo.auth.model import Actor
from ordo.catalog.handlers import create_sku, deactivate_sku, get_sku, save_sku, update_sku
from ordo.catalog.schemas import SkuCreate, SkuUpdate
from ordo.catalog.tables import Sku
from ordo.customer.handlers import create_customer, update_customer
from ordo.customer.schemas import CustomerCreate, CustomerUpdate
from ordo.customer.tables import Customer
from ordo.inventory.schemas import StockLevel, StockReceiptIn, WarehouseUpdate
from ordo.inventory.tables import StockMovement
from ordo.inventory.warehouses import deactivate_warehouse, receive_stock, stock_levels, update_warehouse
from ordo.kernel.checks import Outcome
from ordo.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ordo.kernel.i18n import translate
from ordo.order.handlers import submit_order
from ordo.order.model import OrderSubmission
from ordo.order.tables import Order
from tests.factories import order_payload, seed

ADMIN = Actor.system()
FINANCE = Actor(name="fiona", roles=frozenset({"finance"}))
SERVICE = Actor(name="sam", roles=frozenset({"customer_service"}))


def messages(problems) -> list[tuple[str, str]]:
    return [(p.path, translate(p.key, "en", p.params)) for p in problems]


def events(ordo, entity: str) -> list[tuple[str, str, dict]]:
    with ordo.reading() as uow:
        rows = uow.session.scalars(select(Event).where(Event.entity == entity).order_by(Event.id)).all()
        return [(e.name, e.actor, e.data) for e in rows]


def submit(ordo, **changes):
    with ordo.transaction() as uow:
        order, _ = submit_order(uow, submission=OrderSubmission.model_validate(order_payload(**changes)), actor=ADMIN)
        return order.number


# --- SKUs ---------------------------------------------------------------------------------------------


def test_create_sku_normalises_the_fields_and_logs_an_event(ordo):
    data = SkuCreate.model_validate({
        "code": " TEA-100 ", "name": "Oolong", "category": "tea", "price": "25", "currency": "usd",
        "traits": ["Fragile", "liquid", "fragile"], "origin_country": "cn", "barcode": "",
    })
    with ordo.transaction() as uow:
        created = create_sku(uow, data=data, actor=ADMIN)
    assert created.model_dump() == {
        "code": "TEA-100", "barcode": None, "name": "Oolong", "category": "tea", "weight_g": 0, "length_mm": 0,
        "width_mm": 0, "height_mm": 0, "price": Decimal("25.00"), "currency": "USD", "traits": ["fragile", "liquid"],
        "hs_code": None, "declared_value": None, "origin_country": "CN", "active": True,
    }
    with ordo.reading() as uow:
        assert get_sku(uow, code="TEA-100", actor=FINANCE) == created
    assert events(ordo, "sku") == [("sku.created", "system", {"code": "TEA-100"})]


def test_every_problem_of_a_sku_is_reported_at_once_and_nothing_is_written(ordo, database):
    before = database.row_counts()
    data = SkuCreate.model_validate({
        "code": "tea 1", "name": " ", "price": "-1", "currency": "XYZ", "weight_g": -5, "height_mm": 100_001,
        "traits": ["sharp", "bulky"], "hs_code": "12ab", "origin_country": "ZZ",
    })
    with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
        create_sku(uow, data=data, actor=ADMIN)
    assert messages(caught.value.problems) == [
        ("code", 'code: "tea 1" may contain only letters, digits, ".", "_" and "-", and must start with a letter or '
                 "digit."),
        ("name", "name is required."),
        ("category", "category is required."),
        ("weight_g", "weight_g must be between 0 and 10000000, got -5."),
        ("height_mm", "height_mm must be between 0 and 100000, got 100001."),
        ("currency", 'currency: "XYZ" is not one of CNY, USD, EUR, GBP, JPY, HKD, SGD, AUD, CAD, KRW.'),
        ("price", "price must not be negative, got -1."),
        ("traits[0]", 'traits[0]: "sharp" is not one of fragile, liquid, perishable, electronics, bulky, prohibited.'),
        ("hs_code", 'hs_code: "12ab" is not an HS code (6 to 10 digits).'),
        ("origin_country", 'origin_country: "ZZ" is not an ISO 3166 country code.'),
    ]
    assert database.row_counts() == before


def test_duplicate_sku_code_is_a_conflict(ordo):
    seed(ordo)
    with pytest.raises(Conflict) as caught, ordo.transaction() as uow:
        create_sku(uow, data=SkuCreate(code="TEA-001", name="Tea", category="tea", price=Decimal(1)), actor=ADMIN)
    assert (caught.value.key, caught.value.params) == ("reference_exists", {"kind": "SKU", "ident": "TEA-001"})
    assert translate("reference_exists", "zh-CN", caught.value.params) == "SKU“TEA-001”已存在。"


def test_update_checks_the_whole_record_so_a_new_currency_rechecks_the_price(ordo):
    seed(ordo)
    with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
        update_sku(uow, code="MUG-002", changes=SkuUpdate(currency="JPY"), actor=ADMIN)
    assert messages(caught.value.problems) == [
        ("price", "price: JPY amounts have at most 0 decimal places, got 39.90."),
        ("declared_value", "declared_value: JPY amounts have at most 0 decimal places, got 39.90."),
    ]
    changes = SkuUpdate(currency="JPY", price=Decimal("4000"), declared_value=None)
    with ordo.transaction() as uow:
        updated = update_sku(uow, code="MUG-002", changes=changes, actor=ADMIN)
    assert (updated.price, updated.currency, updated.declared_value, updated.name) == (
        Decimal("4000"), "JPY", None, "Mug-002"
    )
    assert events(ordo, "sku") == [
        ("sku.updated", "system", {"code": "MUG-002", "fields": ["currency", "declared_value", "price"]})
    ]


def test_a_barcode_belongs_to_one_sku(ordo):
    seed(ordo)
    with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
        update_sku(uow, code="MUG-002", changes=SkuUpdate(barcode="6900000000000"), actor=ADMIN)
    assert messages(caught.value.problems) == [
        ("barcode", 'barcode: barcode "6900000000000" is already used by SKU "TEA-001".')
    ]
    with ordo.transaction() as uow:  # its own barcode again is no change
        assert update_sku(uow, code="TEA-001", changes=SkuUpdate(barcode="6900000000000"), actor=ADMIN).barcode == (
            "6900000000000"
        )
    assert events(ordo, "sku") == []


def test_save_sku_creates_updates_or_leaves_unchanged(ordo):
    data = SkuCreate(code="TEA-100", name="Oolong", category="tea", price=Decimal("25.00"))
    outcomes = []
    for changes in ({}, {}, {"name": "Oolong 100g"}):
        with ordo.transaction() as uow:
            _, outcome = save_sku(uow, data=data.model_copy(update=changes), actor=ADMIN)
            outcomes.append(outcome)
    assert outcomes == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.UPDATED]
    assert [name for name, _, _ in events(ordo, "sku")] == ["sku.created", "sku.updated"]


def test_a_deactivated_sku_stays_on_its_orders_and_intake_refuses_it(ordo):
    seed(ordo)
    number = submit(ordo)
    with ordo.transaction() as uow:
        assert deactivate_sku(uow, code="TEA-001", actor=ADMIN).active is False
    with ordo.transaction() as uow:  # again: nothing more happens
        deactivate_sku(uow, code="TEA-001", actor=ADMIN)
    with ordo.reading() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        assert [(line.sku_code, line.quantity) for line in order.lines] == [("TEA-001", 2)]
        assert uow.session.scalars(select(Sku.active).where(Sku.code == "TEA-001")).one() is False
    with pytest.raises(ValidationFailed) as caught:
        submit(ordo, external_id="WEB-1002")
    assert messages(caught.value.problems) == [("lines[0].sku", 'lines[0].sku: unknown SKU "TEA-001".')]
    assert events(ordo, "sku") == [("sku.deactivated", "system", {"code": "TEA-001"})]


def test_reads_need_reference_read_and_writes_reference_write(ordo, database):
    seed(ordo)
    before = database.row_counts()
    with pytest.raises(Forbidden) as caught, ordo.transaction() as uow:
        create_sku(uow, data=SkuCreate(code="TEA-100", name="Tea", category="tea", price=Decimal(1)), actor=FINANCE)
    assert translate(caught.value.key, "en", caught.value.params) == 'Your roles (finance) may not "reference.write".'
    with pytest.raises(Forbidden), ordo.reading() as uow:
        get_sku(uow, code="TEA-001", actor=Actor(name="nobody", roles=frozenset()))
    assert database.row_counts() == before


# --- warehouses and stock -------------------------------------------------------------------------------


def test_a_warehouse_holding_reserved_stock_cannot_be_deactivated(ordo):
    seed(ordo)
    submit(ordo)  # paid: allocated in WH-SH, 2 × TEA-001 reserved
    for deactivate in (
        lambda uow: deactivate_warehouse(uow, code="WH-SH", actor=ADMIN),
        lambda uow: update_warehouse(uow, code="WH-SH", changes=WarehouseUpdate(active=False), actor=ADMIN),
    ):
        with pytest.raises(Conflict) as caught, ordo.transaction() as uow:
            deactivate(uow)
        assert translate(caught.value.key, "en", caught.value.params) == (
            'warehouse "WH-SH" is used by 1 orders and cannot be deleted.'
        )
    with ordo.transaction() as uow:
        assert deactivate_warehouse(uow, code="WH-BJ", actor=ADMIN).active is False
    assert [name for name, _, _ in events(ordo, "warehouse")] == ["warehouse.deactivated"]


def test_receiving_stock_adds_to_on_hand_and_writes_the_ledger(ordo):
    seed(ordo, stock=0)
    receipts = [StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=12, reason="PO 17", reference="PO-17"),
                StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=3)]
    levels = []
    for receipt in receipts:
        with ordo.transaction() as uow:
            levels.append(receive_stock(uow, receipt=receipt, actor=Actor(name="wang", roles=frozenset({"warehouse"}))))
    assert levels == [
        StockLevel(warehouse="WH-SH", sku="TEA-001", on_hand=12, reserved=0, available=12),
        StockLevel(warehouse="WH-SH", sku="TEA-001", on_hand=15, reserved=0, available=15),
    ]
    with ordo.reading() as uow:
        ledger = uow.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
        assert [(m.kind, m.delta_on_hand, m.delta_reserved, m.reason, m.reference, m.actor) for m in ledger] == [
            ("receipt", 12, 0, "PO 17", "PO-17", "wang"),
            ("receipt", 3, 0, None, None, "wang"),
        ]


def test_a_receipt_lists_every_problem_and_writes_nothing(ordo, database):
    seed(ordo)
    with ordo.transaction() as uow:
        deactivate_sku(uow, code="MUG-002", actor=ADMIN)
    before = database.row_counts()
    cases = [
        (StockReceiptIn(warehouse="WH-XX", sku="MUG-002", quantity=0), [
            ("warehouse", 'warehouse: unknown warehouse "WH-XX".'),
            ("sku", 'sku: SKU "MUG-002" is inactive.'),
            ("quantity", "quantity must be between 1 and 1000000, got 0."),
        ]),
        (StockReceiptIn(sku="NOPE", quantity=1_000_001), [
            ("warehouse", "warehouse is required."),
            ("sku", 'sku: unknown SKU "NOPE".'),
            ("quantity", "quantity must be between 1 and 1000000, got 1000001."),
        ]),
        (StockReceiptIn(warehouse="WH-SH", sku="TEA-001"), [("quantity", "quantity is required.")]),
    ]
    for receipt, expected in cases:
        with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
            receive_stock(uow, receipt=receipt, actor=ADMIN)
        assert messages(caught.value.problems) == expected
    assert database.row_counts() == before


def test_stock_permissions_and_warehouse_scope(ordo, database):
    seed(ordo)
    before = database.row_counts()
    receipt = StockReceiptIn(warehouse="WH-SH", sku="TEA-001", quantity=5)
    with pytest.raises(Forbidden) as caught, ordo.transaction() as uow:
        receive_stock(uow, receipt=receipt, actor=SERVICE)
    assert translate(caught.value.key, "en", caught.value.params) == (
        'Your roles (customer_service) may not "stock.write".'
    )
    beijing = Actor(name="li", roles=frozenset({"warehouse"}), warehouses=frozenset({"WH-BJ"}))
    with pytest.raises(Forbidden) as caught, ordo.transaction() as uow:
        receive_stock(uow, receipt=receipt, actor=beijing)
    assert translate(caught.value.key, "en", caught.value.params) == (
        'Your roles (warehouse) may not "receive stock in WH-SH".'
    )
    assert database.row_counts() == before
    with ordo.reading() as uow:
        assert stock_levels(uow, actor=beijing).items == [
            StockLevel(warehouse="WH-BJ", sku="LYC-003", on_hand=100, reserved=0, available=100)
        ]


def test_stock_levels_show_reservations_and_zero_for_a_sku_never_received(ordo):
    seed(ordo)
    submit(ordo)
    with ordo.reading() as uow:
        assert stock_levels(uow, actor=SERVICE, sku="TEA-001").items == [
            StockLevel(warehouse="WH-LA", sku="TEA-001", on_hand=100, reserved=0, available=100),
            StockLevel(warehouse="WH-SH", sku="TEA-001", on_hand=100, reserved=2, available=98),
        ]
        assert stock_levels(uow, actor=SERVICE, sku="KNIFE-007", warehouse="WH-SH").items == [
            StockLevel(warehouse="WH-SH", sku="KNIFE-007", on_hand=0, reserved=0, available=0)
        ]
        with pytest.raises(NotFound):
            stock_levels(uow, actor=SERVICE, sku="NOPE")


# --- customers ----------------------------------------------------------------------------------------------


def test_a_customer_is_stored_as_intake_stores_it_and_intake_finds_it(ordo):
    seed(ordo)
    data = CustomerCreate(name="张伟", phone="138 1234 5678", email="zhang.wei@EXAMPLE.cn", vip_level=3)
    with ordo.transaction() as uow:
        customer = create_customer(uow, data=data, actor=ADMIN)
    assert (customer.phone, customer.email, customer.vip_level) == ("+8613812345678", "zhang.wei@example.cn", 3)
    number = submit(ordo)  # the same phone
    with ordo.reading() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        assert (order.customer_id, order.vip_level) == (customer.id, 3)


def test_intake_takes_the_customer_by_phone_else_by_email_else_creates_one(ordo, database):
    seed(ordo)
    with ordo.transaction() as uow:
        by_phone = create_customer(uow, data=CustomerCreate(name="李娜", phone="13912340001", vip_level=1), actor=ADMIN)
        by_email = create_customer(uow, data=CustomerCreate(name="王芳", email="wang.fang@example.cn", vip_level=2),
                                   actor=ADMIN)
    wang = "wang.fang@example.cn"
    numbers = [
        submit(ordo, external_id="C-1", customer={"name": "李娜", "phone": "13912340001", "email": wang}),
        submit(ordo, external_id="C-2", customer={"name": "王芳", "phone": "13912340002", "email": wang}),
        submit(ordo, external_id="C-3", customer={"name": "赵磊", "phone": "13912340003", "email": "zhao@example.cn"}),
        submit(ordo, external_id="C-4", customer={"name": "赵磊", "phone": "13912340003"}),
    ]
    with ordo.reading() as uow:
        taken = {o.number: (o.customer_id, o.vip_level) for o in uow.session.scalars(select(Order))}
        new = uow.session.execute(select(Customer.id, Customer.phone, Customer.email, Customer.vip_level)
                                  .where(Customer.name == "赵磊")).all()
    assert len(new) == 1
    assert tuple(new[0])[1:] == ("+8613912340003", "zhao@example.cn", 0)
    assert [taken[n] for n in numbers] == [(by_phone.id, 1), (by_email.id, 2), (new[0].id, 0), (new[0].id, 0)]


def test_customer_problems_and_one_customer_per_phone(ordo, database):
    with ordo.transaction() as uow:
        first = create_customer(uow, data=CustomerCreate(name="李娜", phone="13912345678"), actor=ADMIN)
    before = database.row_counts()
    cases = [
        (CustomerCreate(name=" ", vip_level=10), [
            ("name", "name is required."),
            ("phone", "phone: a phone number or an e-mail address is required."),
            ("vip_level", "vip_level must be between 0 and 9, got 10."),
        ]),
        (CustomerCreate(name="王芳", phone="1391234567", email="wang@"), [
            ("phone", 'phone: a Chinese mobile number has 11 digits, "1391234567" has 10.'),
            ("email", 'email: "wang@" is not a valid e-mail address.'),
        ]),
    ]
    for data, expected in cases:
        with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
            create_customer(uow, data=data, actor=ADMIN)
        assert messages(caught.value.problems) == expected
    with pytest.raises(Conflict) as caught, ordo.transaction() as uow:
        create_customer(uow, data=CustomerCreate(name="李娜", phone="+86 139 1234 5678"), actor=ADMIN)
    assert translate(caught.value.key, "en", caught.value.params) == 'customer "+8613912345678" already exists.'
    with pytest.raises(ValidationFailed) as caught, ordo.transaction() as uow:
        update_customer(uow, customer_id=first.id, changes=CustomerUpdate(phone=None), actor=ADMIN)
    assert messages(caught.value.problems) == [("phone", "phone: a phone number or an e-mail address is required.")]
    assert database.row_counts() == before


def test_update_customer_changes_only_what_was_sent(ordo):
    with ordo.transaction() as uow:
        first = create_customer(uow, data=CustomerCreate(name="李娜", phone="13912345678"), actor=ADMIN)
    with ordo.transaction() as uow:
        updated = update_customer(uow, customer_id=first.id, changes=CustomerUpdate(vip_level=5), actor=ADMIN)
    assert updated.model_dump() == {**first.model_dump(), "vip_level": 5}
    assert [(name, data) for name, _, data in events(ordo, "customer")] == [
        ("customer.created", {}), ("customer.updated", {"fields": ["vip_level"]})
    ]
    with pytest.raises(NotFound), ordo.transaction() as uow:
        update_customer(uow, customer_id=first.id + 1, changes=CustomerUpdate(vip_level=1), actor=ADMIN)
