"""Intake validation, one rule per test: the exact problems (path, key) and their exact wording."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ordo.catalog.model import SkuView
from ordo.channel.model import ShopView
from ordo.kernel.errors import ValidationFailed
from ordo.kernel.i18n import translate
from ordo.order.model import DraftLine, OrderDraft, OrderSubmission
from ordo.order.rules import validate_submission
from ordo.policy import IntakePolicy

SHOPS = {
    "web-cn": ShopView(id=1, code="web-cn", channel="web"),
    "tmall": ShopView(id=2, code="tmall", channel="marketplace"),
}


def _sku(id_: int, code: str, category: str, traits: tuple[str, ...], price: str) -> SkuView:
    return SkuView(id=id_, code=code, name=code.title(), category=category, traits=frozenset(traits),
                   price=Decimal(price))


SKUS = {
    sku.code: sku
    for sku in (
        _sku(1, "TEA-001", "tea", (), "25.00"),
        _sku(2, "MUG-002", "kitchen", ("fragile",), "39.90"),
        _sku(3, "LYC-003", "fresh_fruit", ("perishable",), "88.00"),
        _sku(4, "OIL-004", "grocery", ("liquid",), "59.00"),
        _sku(5, "SOFA-005", "furniture", ("bulky",), "2999.00"),
        _sku(7, "KNIFE-007", "controlled_knives", (), "120.00"),
        _sku(8, "FIREWORK-008", "party", ("prohibited",), "30.00"),
    )
}

# Domestic (Shanghai) order: 2 × 25.00 + 10.00 shipping − 5.00 discount = 55.00, paid.
CN_ORDER: dict[str, Any] = {
    "shop": "web-cn",
    "external_id": "WEB-1001",
    "customer": {"name": "张伟", "phone": "13812345678", "email": "zhang.wei@example.cn"},
    "address": {
        "country": "CN", "province": "上海市", "city": "上海市", "district": "浦东新区",
        "street": "世纪大道100号", "postcode": "200120",
    },
    "lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "25.00"}],
    "shipping_fee": "10.00",
    "discounts": "5.00",
    "total": "55.00",
    "currency": "CNY",
    "payment": {"method": "alipay", "status": "paid", "amount_paid": "55.00"},
    "service_type": "domestic_express",
    "order_class": "normal",
}

# Cross-border order to Los Angeles by sea: 2 × 25.00 + 30.00 shipping = 80.00 USD, paid.
US_ORDER: dict[str, Any] = {
    **CN_ORDER,
    "external_id": "WEB-2001",
    "customer": {"name": "Jane Doe", "phone": "(201) 555-0123", "email": "jane@example.com"},
    "address": {"country": "US", "province": "CA", "city": "Los Angeles", "street": "1 World Way", "postcode": "90045"},
    "shipping_fee": "30.00",
    "discounts": "0",
    "total": "80.00",
    "currency": "USD",
    "payment": {"method": "paypal", "status": "paid", "amount_paid": "80.00"},
    "service_type": "intl_sea",
    "order_class": "cross_border",
}

DELETE = object()


def given(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` with changes at dotted paths (``customer__phone`` → customer.phone,
    ``lines__0__quantity`` → lines[0].quantity); the value DELETE removes the field."""
    payload = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node: Any = payload
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value
    return payload


def validate(payload: dict[str, Any], policy: IntakePolicy | None = None) -> OrderDraft:
    return validate_submission(
        OrderSubmission.model_validate(payload), shops=SHOPS, skus=SKUS, policy=policy or IntakePolicy()
    )


def reported(payload: dict[str, Any], locale: str = "en") -> list[tuple[str, str, str]]:
    """(path, key, message) of every problem, in the order they are reported."""
    with pytest.raises(ValidationFailed) as failed:
        validate(payload)
    return [(p.path, p.key, translate(p.key, locale, p.params)) for p in failed.value.problems]


# --- the valid orders themselves ---------------------------------------------------------------


def test_the_base_orders_are_valid():
    assert validate(CN_ORDER).total == Decimal("55.00")
    assert validate(US_ORDER).total == Decimal("80.00")


# --- required fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"shop": DELETE}, "shop"),
        ({"shop": "   "}, "shop"),
        ({"external_id": DELETE}, "external_id"),
        ({"customer": DELETE}, "customer"),
        ({"customer__name": DELETE}, "customer.name"),
        ({"address": DELETE}, "address"),
        ({"address__country": DELETE}, "address.country"),
        ({"currency": DELETE}, "currency"),
        ({"lines__0__sku": DELETE}, "lines[0].sku"),
        ({"lines__0__quantity": DELETE}, "lines[0].quantity"),
        ({"lines__0__unit_price": DELETE}, "lines[0].unit_price"),
        ({"service_type": DELETE}, "service_type"),
        ({"payment": DELETE}, "payment"),
        ({"payment__method": DELETE}, "payment.method"),
        ({"total": DELETE}, "total"),
    ],
)
def test_a_missing_required_field_is_the_only_problem(changes, path):
    assert reported(given(CN_ORDER, **changes)) == [(path, "required", f"{path} is required.")]


@pytest.mark.parametrize("path", ["shop", "customer.name", "lines[0].unit_price"])
def test_required_in_chinese(path):
    changes = {path.replace(".", "__").replace("[0]", "__0"): DELETE}
    assert reported(given(CN_ORDER, **changes), "zh-CN") == [(path, "required", f"{path} 为必填项。")]


@pytest.mark.parametrize("lines", [DELETE, []])
def test_an_order_without_lines(lines):
    assert reported(given(CN_ORDER, lines=lines)) == [
        ("lines", "lines_empty", "lines: an order needs at least one line."),
    ]


def test_a_contact_is_a_phone_or_an_email():
    payload = given(CN_ORDER, customer__phone=DELETE, customer__email=" ")
    assert reported(payload) == [
        ("customer", "contact_required", "customer: a phone number or an e-mail address is required."),
    ]
    assert reported(payload, "zh-CN")[0][2] == "customer：必须提供电话号码或电子邮箱。"


@pytest.mark.parametrize(("drop", "kept"), [("customer__phone", "email"), ("customer__email", "phone")])
def test_either_contact_is_enough(drop, kept):
    draft = validate(given(CN_ORDER, **{drop: DELETE}))
    assert (draft.phone, draft.email) == {
        "email": (None, "zhang.wei@example.cn"), "phone": ("+8613812345678", None),
    }[kept]


# --- shop and channel --------------------------------------------------------------------------


def test_unknown_shop():
    assert reported(given(CN_ORDER, shop="jd-global")) == [
        ("shop", "shop_unknown", 'shop: unknown shop "jd-global".'),
    ]


def test_channel_must_be_the_shops_channel():
    assert reported(given(CN_ORDER, channel="marketplace")) == [
        ("channel", "shop_channel_mismatch", 'channel: shop "web-cn" sells on channel "web", not "marketplace".'),
    ]
    assert validate(given(CN_ORDER, channel="web")).channel == "web"


# --- customer contact --------------------------------------------------------------------------


@pytest.mark.parametrize(("phone", "digits"), [("1381234567", 10), ("138123456789", 12), ("+86 138 1234 567", 10)])
def test_chinese_mobile_has_eleven_digits(phone, digits):
    assert reported(given(CN_ORDER, customer__phone=phone)) == [
        (
            "customer.phone", "phone_cn_mobile_digits",
            f'customer.phone: a Chinese mobile number has 11 digits, "{phone}" has {digits}.',
        ),
    ]


def test_chinese_mobile_digits_in_chinese():
    assert reported(given(CN_ORDER, customer__phone="1381234567"), "zh-CN")[0][2] == (
        "customer.phone：中国大陆手机号应为 11 位，“1381234567”为 10 位。"
    )


@pytest.mark.parametrize("phone", ["12345678901", "not a phone"])
def test_invalid_phone_number(phone):
    assert reported(given(CN_ORDER, customer__phone=phone)) == [
        ("customer.phone", "phone_invalid", f'customer.phone: "{phone}" is not a valid phone number for CN.'),
    ]


@pytest.mark.parametrize("phone", ["１３８１２３４５６７８", "138-1234-5678", "+86 138 1234 5678", "8613812345678"])
def test_chinese_mobile_written_differently_is_normalised_to_e164(phone):
    assert validate(given(CN_ORDER, customer__phone=phone)).phone == "+8613812345678"


def test_us_number_for_a_us_address():
    assert validate(US_ORDER).phone == "+12015550123"
    assert reported(given(US_ORDER, customer__phone="13812345678")) == [
        ("customer.phone", "phone_invalid", 'customer.phone: "13812345678" is not a valid phone number for US.'),
    ]


def test_invalid_email():
    assert reported(given(CN_ORDER, customer__email="zhang.wei@")) == [
        ("customer.email", "email_invalid", 'customer.email: "zhang.wei@" is not a valid e-mail address.'),
    ]


def test_email_domain_is_lower_cased():
    assert validate(given(CN_ORDER, customer__email="Zhang.Wei@EXAMPLE.CN")).email == "Zhang.Wei@example.cn"


# --- address -----------------------------------------------------------------------------------


def test_unknown_country():
    assert reported(given(CN_ORDER, address__country="XX")) == [
        ("address.country", "country_unknown", 'address.country: "XX" is not an ISO 3166 country code.'),
    ]


@pytest.mark.parametrize(
    ("field", "value", "path", "key", "message"),
    [
        ("province", DELETE, "address.province", "address_no_province",
         "The delivery address has no province (required in China)."),
        ("city", DELETE, "address.city", "address_no_city", "The delivery address has no city."),
        ("district", "", "address.district", "address_no_district",
         "The delivery address has no district (required in China)."),
        ("street", DELETE, "address.street", "address_no_street", "The delivery address has no street and number."),
        ("street", "世纪大道", "address.street", "address_no_house_number",
         'address.street: "世纪大道" has no house number (required in China).'),
    ],
)
def test_china_address_parts(field, value, path, key, message):
    assert reported(given(CN_ORDER, **{f"address__{field}": value})) == [(path, key, message)]


@pytest.mark.parametrize("street", ["世纪大道一百号", "世纪大道１００弄"])
def test_house_number_in_chinese_numerals_or_full_width_digits(street):
    assert validate(given(CN_ORDER, address__street=street)).street == street.replace("１００", "100")


def test_foreign_address_needs_no_province_district_or_house_number():
    draft = validate(given(US_ORDER, address__province=DELETE, address__street="World Way"))
    assert (draft.province, draft.district, draft.street) == (None, None, "World Way")


def test_cross_border_address_needs_a_postcode():
    payload = given(US_ORDER, address__postcode=DELETE)
    assert reported(payload) == [
        (
            "address.postcode", "address_no_postcode",
            "The delivery address has no postcode (required for cross-border orders).",
        ),
    ]
    assert reported(payload, "zh-CN")[0][2] == "收货地址缺少邮政编码（跨境订单必填）。"


def test_domestic_address_needs_no_postcode():
    assert validate(given(CN_ORDER, address__postcode=DELETE)).postcode is None


@pytest.mark.parametrize(
    ("province", "remote"),
    [
        ("西藏", True),
        ("西藏自治区", True),
        ("新疆维吾尔自治区", True),
        ("青海省", True),
        ("xinjiang uygur autonomous region", True),
        ("Tibet Autonomous Region", True),
        ("上海市", False),
        ("四川省", False),
    ],
)
def test_remote_provinces_are_marked(province, remote):
    assert validate(given(CN_ORDER, address__province=province)).remote_area is remote


# --- lines -------------------------------------------------------------------------------------


def test_unknown_sku():
    assert reported(given(CN_ORDER, lines__0__sku="NOPE-999")) == [
        ("lines[0].sku", "sku_unknown", 'lines[0].sku: unknown SKU "NOPE-999".'),
    ]


def test_the_same_sku_on_two_lines():
    lines = [{"sku": "TEA-001", "quantity": 1, "unit_price": "25.00"}] * 2
    assert reported(given(CN_ORDER, lines=lines)) == [
        (
            "lines[1].sku", "sku_duplicate",
            'lines[1].sku: SKU "TEA-001" is already on lines[0]; put the whole quantity on one line.',
        ),
    ]


@pytest.mark.parametrize("quantity", [0, -2])
def test_quantity_must_be_positive(quantity):
    assert reported(given(CN_ORDER, lines__0__quantity=quantity)) == [
        (
            "lines[0].quantity", "quantity_not_positive",
            f"lines[0].quantity: quantity must be a positive whole number, got {quantity}.",
        ),
    ]


def test_quantity_over_the_maximum_per_line():
    # 10 001 × 25.00 + 10.00 − 5.00 = 250 030.00: the amounts agree, only the quantity is refused.
    payload = given(CN_ORDER, lines__0__quantity=10_001, total="250030.00", payment__amount_paid="250030.00")
    assert reported(payload) == [
        (
            "lines[0].quantity", "quantity_too_large",
            "lines[0].quantity: quantity is at most 10000 per line, got 10001.",
        ),
    ]


def test_quantity_at_the_maximum_is_accepted():
    payload = given(CN_ORDER, lines__0__quantity=10_000, total="250005.00", payment__amount_paid="250005.00")
    assert validate(payload).lines[0].amount == Decimal("250000.00")


@pytest.mark.parametrize(
    ("sku", "reason", "reason_zh"),
    [("FIREWORK-008", "prohibited", "违禁"), ("KNIFE-007", "controlled_knives", "管制刀具")],
)
def test_prohibited_goods_by_trait_and_by_category(sku, reason, reason_zh):
    payload = given(CN_ORDER, lines__0__sku=sku)
    assert reported(payload) == [
        (
            "lines[0].sku", "sku_prohibited",
            f'lines[0].sku: "{sku}" is prohibited goods ({reason}) and cannot be accepted.',
        ),
    ]
    assert reported(payload, "zh-CN")[0][2] == f"lines[0].sku：“{sku}”属于违禁品（{reason_zh}），不能受理。"


# --- logistics service type --------------------------------------------------------------------


def test_unknown_service_type():
    assert reported(given(CN_ORDER, service_type="teleport")) == [
        (
            "service_type", "service_type_unknown",
            'service_type: unknown service type "teleport"; known: domestic_express, domestic_freight, cold_chain, '
            "intl_air, intl_sea, overseas_warehouse.",
        ),
    ]


def test_domestic_service_to_a_foreign_address():
    payload = given(US_ORDER, service_type="domestic_express")
    assert reported(payload) == [
        (
            "service_type", "service_type_destination",
            'service_type: "domestic_express" serves domestic destinations; the delivery address is in US.',
        ),
    ]
    assert reported(payload, "zh-CN")[0][2] == "service_type：“domestic_express”仅服务国内目的地，收货地址位于 US。"


def test_international_service_to_a_chinese_address():
    # intl_sea costs at least 30: 50.00 + 30.00 − 5.00 = 75.00.
    payload = given(CN_ORDER, service_type="intl_sea", shipping_fee="30.00", total="75.00", payment__amount_paid="75")
    assert reported(payload) == [
        (
            "service_type", "service_type_destination",
            'service_type: "intl_sea" serves international destinations; the delivery address is in CN.',
        ),
    ]


def test_domestic_express_does_not_carry_perishable_goods():
    lines = [{"sku": "LYC-003", "quantity": 1, "unit_price": "88.00"}]
    payload = given(CN_ORDER, lines=lines, total="93.00", payment__amount_paid="93.00")
    assert reported(payload) == [
        (
            "service_type", "service_type_goods",
            'service_type: "domestic_express" does not carry perishable goods (LYC-003).',
        ),
    ]
    assert reported(payload, "zh-CN")[0][2] == "service_type：“domestic_express”不承运生鲜易腐商品（LYC-003）。"
    assert validate(given(payload, service_type="cold_chain")).service_type == "cold_chain"


def test_air_freight_does_not_carry_liquids():
    lines = [
        {"sku": "OIL-004", "quantity": 1, "unit_price": "59.00"},
        {"sku": "TEA-001", "quantity": 1, "unit_price": "25.00"},
    ]
    payload = given(US_ORDER, lines=lines, service_type="intl_air", shipping_fee="50.00",
                    total="134.00", payment__amount_paid="134.00")
    assert reported(payload) == [
        ("service_type", "service_type_goods", 'service_type: "intl_air" does not carry liquid goods (OIL-004).'),
    ]


def test_shipping_fee_below_the_service_minimum():
    payload = given(US_ORDER, service_type="intl_air", shipping_fee="20", total="70.00", payment__amount_paid="70.00")
    assert reported(payload) == [
        (
            "shipping_fee", "service_fee_too_low",
            'shipping_fee: service type "intl_air" costs at least 50.00 USD, got 20.00.',
        ),
    ]
    at_minimum = given(payload, shipping_fee="50", total="100", payment__amount_paid="100")
    assert validate(at_minimum).shipping_fee == Decimal("50.00")


# --- order class -------------------------------------------------------------------------------


def test_unknown_order_class():
    assert reported(given(CN_ORDER, order_class="vip")) == [
        ("order_class", "one_of", 'order_class: "vip" is not one of normal, promotion, fresh, urgent, cross_border.'),
    ]


def test_cross_border_order_to_a_chinese_address():
    assert reported(given(CN_ORDER, order_class="cross_border")) == [
        (
            "order_class", "cross_border_domestic",
            "order_class: a cross-border order needs a delivery address outside CN.",
        ),
    ]


# --- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"lines__0__unit_price": "-25.00"}, "lines[0].unit_price"),
        ({"shipping_fee": "-10.00"}, "shipping_fee"),
        ({"discounts": "-5.00"}, "discounts"),
        ({"total": "-55.00"}, "total"),
        ({"payment__amount_paid": "-55.00"}, "payment.amount_paid"),
    ],
)
def test_negative_amounts(changes, path):
    value = next(iter(changes.values()))
    assert reported(given(CN_ORDER, **changes)) == [
        (path, "not_negative", f"{path} must not be negative, got {value}."),
    ]


def test_cny_amount_with_three_decimal_places():
    assert reported(given(CN_ORDER, lines__0__unit_price="25.001")) == [
        (
            "lines[0].unit_price", "amount_precision",
            "lines[0].unit_price: CNY amounts have at most 2 decimal places, got 25.001.",
        ),
    ]


JPY_ORDER = given(
    CN_ORDER, currency="JPY", lines__0__unit_price="2500", shipping_fee="1000", discounts="0", total="6000",
    payment__amount_paid="6000",
)


def test_jpy_amounts_with_one_decimal_place():
    # The price is refused rather than rounded: no second, misleading "total" problem.
    assert reported(given(JPY_ORDER, lines__0__unit_price="2500.5")) == [
        (
            "lines[0].unit_price", "amount_precision",
            "lines[0].unit_price: JPY amounts have at most 0 decimal places, got 2500.5.",
        ),
    ]
    assert reported(given(JPY_ORDER, shipping_fee="1000.5"), "zh-CN") == [
        ("shipping_fee", "amount_precision", "shipping_fee：JPY 金额最多 0 位小数，实际为 1000.5。"),
    ]


def test_jpy_amounts_with_zero_decimals_written_out_are_accepted():
    draft = validate(given(JPY_ORDER, lines__0__unit_price="2500.00", total="6000.0"))
    assert (str(draft.lines[0].unit_price), str(draft.goods_total), str(draft.total)) == ("2500", "5000", "6000")


def test_total_mismatch_shows_the_arithmetic():
    payload = given(CN_ORDER, total="60.00", payment__amount_paid="60.00")
    assert reported(payload) == [
        ("total", "total_mismatch", "total: lines 50.00 + shipping 10.00 − discounts 5.00 = 55.00, not 60.00."),
    ]
    assert reported(payload, "zh-CN")[0][2] == "total：商品 50.00 + 运费 10.00 − 优惠 5.00 = 55.00，而不是 60.00。"


def test_discounts_exceeding_goods_and_shipping():
    payload = given(CN_ORDER, discounts="70.00", total="0", payment__amount_paid="0")
    assert reported(payload) == [
        ("discounts", "discount_exceeds", "discounts: 70.00 is more than the goods and shipping (60.00)."),
    ]


def test_discounts_equal_to_goods_and_shipping_make_a_free_order():
    draft = validate(given(CN_ORDER, discounts="60", total="0", payment__amount_paid="0"))
    assert (str(draft.discounts), str(draft.total), str(draft.amount_paid)) == ("60.00", "0.00", "0.00")


def test_paid_amount_must_be_the_total():
    assert reported(given(CN_ORDER, payment__amount_paid="50.00")) == [
        (
            "payment.amount_paid", "paid_amount_mismatch",
            "payment.amount_paid: a paid order must be paid in full (55.00), got 50.00.",
        ),
    ]


def test_unpaid_order_has_paid_nothing():
    assert reported(given(CN_ORDER, payment__status="unpaid", payment__amount_paid="10.00")) == [
        (
            "payment.amount_paid", "unpaid_amount_nonzero",
            "payment.amount_paid: an unpaid order has paid nothing, got 10.00.",
        ),
    ]
    unpaid = validate(given(CN_ORDER, payment__status="unpaid", payment__amount_paid=DELETE))
    assert (unpaid.payment_status, str(unpaid.amount_paid)) == ("unpaid", "0.00")


def test_unknown_payment_method():
    assert reported(given(CN_ORDER, payment__method="bitcoin")) == [
        (
            "payment.method", "one_of",
            'payment.method: "bitcoin" is not one of alipay, wechat_pay, card, bank_transfer, cash_on_delivery, '
            "paypal, marketplace, balance.",
        ),
    ]


def test_unknown_payment_status():
    assert reported(given(CN_ORDER, payment__status="refunded")) == [
        ("payment.status", "one_of", 'payment.status: "refunded" is not one of unpaid, paid.'),
    ]


def test_unknown_currency():
    assert reported(given(CN_ORDER, currency="XYZ")) == [
        ("currency", "one_of", 'currency: "XYZ" is not one of CNY, USD, EUR, GBP, JPY, HKD, SGD, AUD, CAD, KRW.'),
    ]


# --- one problem does not hide another ---------------------------------------------------------


def test_missing_payment_does_not_hide_a_wrong_total():
    assert reported(given(CN_ORDER, payment=DELETE, total="60.00")) == [
        ("payment", "required", "payment is required."),
        ("total", "total_mismatch", "total: lines 50.00 + shipping 10.00 − discounts 5.00 = 55.00, not 60.00."),
    ]


def test_missing_total_does_not_hide_a_shipping_fee_below_the_minimum():
    assert reported(given(US_ORDER, service_type="intl_air", shipping_fee="20", total=DELETE)) == [
        ("total", "required", "total is required."),
        (
            "shipping_fee", "service_fee_too_low",
            'shipping_fee: service type "intl_air" costs at least 50.00 USD, got 20.00.',
        ),
    ]


def test_missing_currency_or_price_does_not_hide_goods_the_service_refuses():
    lines = [{"sku": "LYC-003", "quantity": 1}]
    assert reported(given(CN_ORDER, lines=lines, currency=DELETE)) == [
        ("currency", "required", "currency is required."),
        ("lines[0].unit_price", "required", "lines[0].unit_price is required."),
        (
            "service_type", "service_type_goods",
            'service_type: "domestic_express" does not carry perishable goods (LYC-003).',
        ),
    ]


def test_every_problem_of_a_bad_payload_in_order():
    payload = {
        "shop": "jd-global",
        "customer": {"name": " ", "phone": "1381234567", "email": "nobody@"},
        "address": {"country": "CN", "province": "上海市", "city": "上海市", "street": "世纪大道"},
        "lines": [
            {"sku": "NOPE-999", "quantity": 1, "unit_price": "1.00"},
            {"sku": "TEA-001", "quantity": 0, "unit_price": "25.001"},
            {"sku": "SOFA-005", "quantity": 1, "unit_price": "2999.00"},
        ],
        "shipping_fee": "-1",
        "currency": "CNY",
        "payment": {"method": "bitcoin", "status": "pending"},
        "service_type": "intl_air",
        "order_class": "cross_border",
    }
    assert reported(payload) == [
        ("shop", "shop_unknown", 'shop: unknown shop "jd-global".'),
        ("external_id", "required", "external_id is required."),
        ("address.district", "address_no_district", "The delivery address has no district (required in China)."),
        (
            "address.street", "address_no_house_number",
            'address.street: "世纪大道" has no house number (required in China).',
        ),
        ("customer.name", "required", "customer.name is required."),
        (
            "customer.phone", "phone_cn_mobile_digits",
            'customer.phone: a Chinese mobile number has 11 digits, "1381234567" has 10.',
        ),
        ("customer.email", "email_invalid", 'customer.email: "nobody@" is not a valid e-mail address.'),
        ("lines[0].sku", "sku_unknown", 'lines[0].sku: unknown SKU "NOPE-999".'),
        (
            "lines[1].quantity", "quantity_not_positive",
            "lines[1].quantity: quantity must be a positive whole number, got 0.",
        ),
        (
            "lines[1].unit_price", "amount_precision",
            "lines[1].unit_price: CNY amounts have at most 2 decimal places, got 25.001.",
        ),
        (
            "service_type", "service_type_destination",
            'service_type: "intl_air" serves international destinations; the delivery address is in CN.',
        ),
        ("service_type", "service_type_goods", 'service_type: "intl_air" does not carry bulky goods (SOFA-005).'),
        (
            "order_class", "cross_border_domestic",
            "order_class: a cross-border order needs a delivery address outside CN.",
        ),
        ("shipping_fee", "not_negative", "shipping_fee must not be negative, got -1."),
        (
            "payment.method", "one_of",
            'payment.method: "bitcoin" is not one of alipay, wechat_pay, card, bank_transfer, cash_on_delivery, '
            "paypal, marketplace, balance.",
        ),
        ("payment.status", "one_of", 'payment.status: "pending" is not one of unpaid, paid.'),
        ("total", "required", "total is required."),
    ]


# --- the accepted order ------------------------------------------------------------------------


def test_valid_payload_gives_a_draft_with_normalised_values():
    payload = given(
        CN_ORDER,
        customer={
            "name": "  张  伟 ", "phone": "１３８ １２３４ ５６７８", "email": "Zhang.Wei@Example.CN",
            "account": "tb-77",
        },
        address={
            "country": "cn", "province": "青海省", "city": "西宁市", "district": "城中区", "street": "长江路 １２号",
            "postcode": "810000",
        },
        lines=[
            {"sku": "TEA-001", "quantity": 3, "unit_price": "25"},
            {"sku": "MUG-002", "quantity": 1, "unit_price": "39.9"},
        ],
        shipping_fee="12.5", discounts="0.4", total="127.00", currency="cny",
        payment={"method": "wechat_pay", "status": "paid", "amount_paid": "127"},
        remark="  请周末送货 ",
        placed_at="2026-03-15T10:00:00+08:00",
    )
    draft = validate(payload)
    assert draft == OrderDraft(
        shop_id=1, shop_code="web-cn", channel="web", external_id="WEB-1001",
        customer_name="张 伟", phone="+8613812345678", email="Zhang.Wei@example.cn", account="tb-77",
        country="CN", province="青海省", city="西宁市", district="城中区", street="长江路 12号", postcode="810000",
        remote_area=True,
        lines=(
            DraftLine(line_no=1, sku_id=1, sku_code="TEA-001", name="Tea-001", quantity=3,
                      unit_price=Decimal("25.00"), amount=Decimal("75.00")),
            DraftLine(line_no=2, sku_id=2, sku_code="MUG-002", name="Mug-002", quantity=1,
                      unit_price=Decimal("39.90"), amount=Decimal("39.90")),
        ),
        currency="CNY", goods_total=Decimal("114.90"), shipping_fee=Decimal("12.50"), discounts=Decimal("0.40"),
        total=Decimal("127.00"), payment_method="wechat_pay", payment_status="paid", amount_paid=Decimal("127.00"),
        service_type="domestic_express", order_class="normal", remark="请周末送货",
        placed_at=datetime(2026, 3, 15, 2, 0, tzinfo=UTC),
    )
    # Decimal equality ignores the exponent; the amounts must also carry exactly two places.
    amounts = [draft.goods_total, draft.shipping_fee, draft.discounts, draft.total, draft.amount_paid]
    amounts += [value for line in draft.lines for value in (line.unit_price, line.amount)]
    assert [str(a) for a in amounts] == [
        "114.90", "12.50", "0.40", "127.00", "127.00", "25.00", "75.00", "39.90", "39.90",
    ]


def test_fingerprint_of_the_base_order():
    assert validate(CN_ORDER).fingerprint() == {
        "shop_code": "web-cn", "channel": "web", "external_id": "WEB-1001",
        "customer_name": "张伟", "phone": "+8613812345678", "email": "zhang.wei@example.cn", "account": None,
        "country": "CN", "province": "上海市", "city": "上海市", "district": "浦东新区", "street": "世纪大道100号",
        "postcode": "200120", "remote_area": False,
        "lines": [{"line_no": 1, "sku_code": "TEA-001", "name": "Tea-001", "quantity": 2, "unit_price": "25.00",
                   "amount": "50.00"}],
        "currency": "CNY", "goods_total": "50.00", "shipping_fee": "10.00", "discounts": "5.00", "total": "55.00",
        "payment_method": "alipay", "payment_status": "paid", "amount_paid": "55.00",
        "service_type": "domestic_express", "order_class": "normal", "remark": None, "placed_at": None,
    }


def test_fingerprint_is_the_same_for_the_same_content_written_differently():
    placed = datetime(2026, 3, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    plain = given(CN_ORDER, address__street="世纪大道 100号", placed_at=placed.isoformat())
    written_differently = given(
        CN_ORDER,
        customer={"name": " 张伟 ", "phone": "138 1234 5678", "email": "zhang.wei@EXAMPLE.cn"},
        address={"country": "cn", "province": " 上海市", "city": "上海市 ", "district": "浦东新区",
                 "street": "世纪大道   １００号", "postcode": "２００１２０"},
        lines=[{"sku": " TEA-001 ", "quantity": "2", "unit_price": "25"}],
        shipping_fee="10", discounts="5.0", total="55", currency="cny",
        payment={"method": "alipay", "status": "paid", "amount_paid": "55.000"},
        placed_at=placed.astimezone(UTC).isoformat(),
    )
    assert validate(written_differently).fingerprint() == validate(plain).fingerprint()


@pytest.mark.parametrize(
    "changes",
    [
        {"lines__0__quantity": 3, "total": "80.00", "payment__amount_paid": "80.00"},
        {"lines__0__unit_price": "26.00", "total": "57.00", "payment__amount_paid": "57.00"},
        {"lines__0__sku": "MUG-002", "lines__0__unit_price": "39.90", "total": "84.80",
         "payment__amount_paid": "84.80"},
    ],
)
def test_fingerprint_differs_when_a_line_changes(changes):
    assert validate(given(CN_ORDER, **changes)).fingerprint() != validate(CN_ORDER).fingerprint()


def test_hong_kong_needs_no_postcode_but_the_us_does():
    def postcode_problems(country: str) -> list[str]:
        payload = {
            **CN_ORDER,
            "address": {"country": country, "city": "City", "street": "1 Queen's Road"},
            "service_type": "intl_air",
            "shipping_fee": "60.00",
        }
        try:
            validate(payload)
        except ValidationFailed as exc:
            return [p.key for p in exc.problems if p.path == "address.postcode"]
        return []

    assert postcode_problems("HK") == []
    assert postcode_problems("US") == ["address_no_postcode"]


def test_placed_at_needs_a_time_zone_offset():
    payload = {**CN_ORDER, "placed_at": "2026-03-15T09:30:00"}
    with pytest.raises(ValidationFailed) as failed:
        validate(payload)
    assert [(p.path, translate(p.key, "en", p.params)) for p in failed.value.problems] == [
        ("placed_at", 'placed_at: "2026-03-15T09:30:00" has no time-zone offset (e.g. +08:00 or Z).'),
    ]
