"""Intake validation as a pure function: every problem of a submission, reported at once.

The caller loads the shops and SKUs the submission names and passes plain views; nothing here
touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ordo.catalog.model import SkuView
from ordo.channel.model import ShopView
from ordo.kernel.errors import Problem, ValidationFailed
from ordo.kernel.money import has_excess_precision, minor_units, quantize
from ordo.order.model import AddressIn, CustomerIn, DraftLine, LineIn, OrderDraft, OrderSubmission
from ordo.policy import IntakePolicy, Trait

_HOUSE_NUMBER = re.compile(r"[0-9]|号")


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, key: str, **params: Any) -> None:
        self.items.append(Problem(path=path, key=key, params={"path": path, **params}))

    def __bool__(self) -> bool:
        return bool(self.items)


def normalise_text(value: str) -> str:
    """Full-width letters and digits to ASCII, runs of spaces to one (NFKC)."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def normalise_phone(value: str, region: str) -> tuple[str | None, str | None, dict[str, Any]]:
    """Return (E.164 number, None, {}) or (None, message key, params)."""
    raw = normalise_text(value)
    digits = re.sub(r"[\s\-()]", "", raw)
    if region == "CN" and digits.isdigit() and digits.startswith("1") and len(digits) != 11:
        return None, "phone_cn_mobile_digits", {"value": value, "digits": len(digits)}
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None, "phone_invalid", {"value": value, "region": region}
    national = str(parsed.national_number)
    if parsed.country_code == 86 and national.startswith("1") and len(national) != 11:
        return None, "phone_cn_mobile_digits", {"value": value, "digits": len(national)}
    if not phonenumbers.is_valid_number(parsed):
        return None, "phone_invalid", {"value": value, "region": region}
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None, {}


def normalise_email(value: str) -> str | None:
    try:
        return validate_email(normalise_text(value), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def validate_submission(
    submission: OrderSubmission,
    *,
    shops: Mapping[str, ShopView],
    skus: Mapping[str, SkuView],
    policy: IntakePolicy,
) -> OrderDraft:
    problems = _Problems()
    shop = _check_shop(submission, shops, problems)
    if _blank(submission.external_id):
        problems.add("external_id", "required")
    country = _check_address(submission.address, policy, problems)
    region = country or policy.home_country
    phone, email = _check_customer(submission.customer, region, problems)
    currency = _check_currency(submission.currency, policy, problems)
    lines, on_order = _check_lines(submission.lines, skus, currency, policy, problems)
    service = _check_service_type(submission, country, on_order, policy, problems)
    _check_order_class(submission.order_class, country, policy, problems)
    amounts = _check_amounts(submission, lines, currency, service, policy, problems)
    if submission.placed_at is not None and submission.placed_at.utcoffset() is None:
        problems.add("placed_at", "placed_at_no_offset", value=submission.placed_at.isoformat())
    if problems:
        raise ValidationFailed(problems.items)

    assert shop is not None and country is not None and currency is not None and amounts is not None
    customer = submission.customer or CustomerIn()
    address = submission.address or AddressIn()
    payment = submission.payment
    assert payment is not None and payment.method is not None
    return OrderDraft(
        shop_id=shop.id,
        shop_code=shop.code,
        channel=shop.channel,
        external_id=str(submission.external_id),
        customer_name=normalise_text(customer.name or ""),
        phone=phone,
        email=email,
        account=customer.account,
        country=country,
        province=_optional_text(address.province),
        city=normalise_text(str(address.city)),
        district=_optional_text(address.district),
        street=normalise_text(str(address.street)),
        postcode=_optional_text(address.postcode),
        remote_area=is_remote(address.province, policy),
        lines=tuple(lines),
        currency=currency,
        goods_total=amounts["goods"],
        shipping_fee=amounts["shipping"],
        discounts=amounts["discounts"],
        total=amounts["total"],
        payment_method=payment.method,
        payment_status=payment.status,
        amount_paid=amounts["paid"],
        service_type=str(submission.service_type),
        order_class=submission.order_class,
        remark=submission.remark or None,
        # Kept in UTC, as the database gives every time back (rejected above without an offset).
        placed_at=submission.placed_at.astimezone(UTC) if submission.placed_at is not None else None,
    )


def _optional_text(value: str | None) -> str | None:
    return None if _blank(value) else normalise_text(str(value))


def is_remote(province: str | None, policy: IntakePolicy) -> bool:
    """Provinces are written with or without their suffix ("青海" or "青海省", "Xinjiang Uygur
    Autonomous Region"), so a listed name matches the start of the province, in any case."""
    if _blank(province):
        return False
    name = normalise_text(str(province)).casefold()
    return any(name.startswith(normalise_text(remote).casefold()) for remote in policy.remote_provinces)


def _check_shop(sub: OrderSubmission, shops: Mapping[str, ShopView], problems: _Problems) -> ShopView | None:
    if _blank(sub.shop):
        problems.add("shop", "required")
        return None
    shop = shops.get(str(sub.shop))
    if shop is None:
        problems.add("shop", "shop_unknown", value=sub.shop)
        return None
    if sub.channel and sub.channel != shop.channel:
        problems.add("channel", "shop_channel_mismatch", shop=shop.code, expected=shop.channel, value=sub.channel)
    return shop


def _check_customer(customer: CustomerIn | None, region: str, problems: _Problems) -> tuple[str | None, str | None]:
    if customer is None:
        problems.add("customer", "required")
        return None, None
    if _blank(customer.name):
        problems.add("customer.name", "required")
    phone = email = None
    if _blank(customer.phone) and _blank(customer.email):
        problems.add("customer", "contact_required")
    if not _blank(customer.phone):
        phone, key, params = normalise_phone(str(customer.phone), region)
        if key:
            problems.add("customer.phone", key, **params)
    if not _blank(customer.email):
        email = normalise_email(str(customer.email))
        if email is None:
            problems.add("customer.email", "email_invalid", value=customer.email)
    return phone, email


def _check_address(address: AddressIn | None, policy: IntakePolicy, problems: _Problems) -> str | None:
    if address is None:
        problems.add("address", "required")
        return None
    country: str | None = None
    if _blank(address.country):
        problems.add("address.country", "required")
    elif str(address.country).upper() not in phonenumbers.SUPPORTED_REGIONS:
        problems.add("address.country", "country_unknown", value=address.country)
    else:
        country = str(address.country).upper()
    domestic_cn = country == "CN"
    if domestic_cn and _blank(address.province):
        problems.add("address.province", "address_no_province")
    if _blank(address.city):
        problems.add("address.city", "address_no_city")
    if domestic_cn and _blank(address.district):
        problems.add("address.district", "address_no_district")
    if _blank(address.street):
        problems.add("address.street", "address_no_street")
    elif domestic_cn and not _HOUSE_NUMBER.search(normalise_text(str(address.street))):
        problems.add("address.street", "address_no_house_number", value=address.street)
    if (
        country is not None
        and country != policy.home_country
        and country not in policy.countries_without_postcodes
        and _blank(address.postcode)
    ):
        problems.add("address.postcode", "address_no_postcode")
    return country


def _check_currency(currency: str | None, policy: IntakePolicy, problems: _Problems) -> str | None:
    if _blank(currency):
        problems.add("currency", "required")
        return None
    code = str(currency).upper()
    if code not in policy.currencies:
        problems.add("currency", "one_of", value=currency, allowed=", ".join(policy.currencies))
        return None
    return code


def _check_lines(
    lines: list[LineIn] | None,
    skus: Mapping[str, SkuView],
    currency: str | None,
    policy: IntakePolicy,
    problems: _Problems,
) -> tuple[list[DraftLine], list[SkuView]]:
    """Return the lines whose amount is well defined and the SKUs the order carries (for the
    service-type checks, which don't depend on prices or quantities)."""
    if not lines:
        problems.add("lines", "lines_empty")
        return [], []
    if len(lines) > policy.max_lines:
        problems.add("lines", "lines_too_many", max=policy.max_lines, count=len(lines))
    accepted: list[DraftLine] = []
    on_order: list[SkuView] = []
    first_seen: dict[str, str] = {}
    for index, line in enumerate(lines):
        path = f"lines[{index}]"
        sku = _check_line_sku(line, path, skus, first_seen, policy, problems)
        if sku is not None:
            on_order.append(sku)
        quantity = line.quantity
        if quantity is None:
            problems.add(f"{path}.quantity", "required")
        elif quantity <= 0:
            problems.add(f"{path}.quantity", "quantity_not_positive", value=quantity)
        elif quantity > policy.max_quantity_per_line:
            problems.add(f"{path}.quantity", "quantity_too_large", max=policy.max_quantity_per_line, value=quantity)
        price = line.unit_price
        price_ok = False
        if price is None:
            problems.add(f"{path}.unit_price", "required")
        else:
            price_ok = _check_amount(f"{path}.unit_price", price, currency, problems)
        # A rounded or negative price would only add a misleading total mismatch on top.
        if sku is not None and quantity is not None and quantity > 0 and price is not None and price_ok and currency:
            unit = quantize(price, currency)
            accepted.append(
                DraftLine(
                    line_no=index + 1,
                    sku_id=sku.id,
                    sku_code=sku.code,
                    name=sku.name,
                    quantity=quantity,
                    unit_price=unit,
                    amount=quantize(unit * quantity, currency),
                )
            )
    return accepted, on_order


def _check_line_sku(
    line: LineIn,
    path: str,
    skus: Mapping[str, SkuView],
    first_seen: dict[str, str],
    policy: IntakePolicy,
    problems: _Problems,
) -> SkuView | None:
    if _blank(line.sku):
        problems.add(f"{path}.sku", "required")
        return None
    code = str(line.sku)
    if code in first_seen:
        problems.add(f"{path}.sku", "sku_duplicate", value=code, first=first_seen[code])
        return None
    first_seen[code] = path
    sku = skus.get(code)
    if sku is None:
        problems.add(f"{path}.sku", "sku_unknown", value=code)
        return None
    if Trait.PROHIBITED in sku.traits:
        problems.add(f"{path}.sku", "sku_prohibited", value=code, reason=Trait.PROHIBITED.value)
        return None
    if sku.category in policy.prohibited_categories:
        problems.add(f"{path}.sku", "sku_prohibited", value=code, reason=sku.category)
        return None
    return sku


def _check_service_type(
    sub: OrderSubmission,
    country: str | None,
    on_order: list[SkuView],
    policy: IntakePolicy,
    problems: _Problems,
) -> str | None:
    if _blank(sub.service_type):
        problems.add("service_type", "required")
        return None
    name = str(sub.service_type)
    service = policy.service_types.get(name)
    if service is None:
        problems.add("service_type", "service_type_unknown", value=name, known=", ".join(policy.service_types))
        return None
    if country is not None:
        scope = "domestic" if country == policy.home_country else "international"
        if scope != service.scope:
            problems.add("service_type", "service_type_destination", value=name, scope=service.scope, country=country)
    for trait in service.forbidden_traits:
        carrying = [sku.code for sku in on_order if trait in sku.traits]
        if carrying:
            problems.add("service_type", "service_type_goods", value=name, trait=trait.value, skus=", ".join(carrying))
    return name


def _check_order_class(order_class: str, country: str | None, policy: IntakePolicy, problems: _Problems) -> None:
    if order_class not in policy.order_classes:
        problems.add("order_class", "one_of", value=order_class, allowed=", ".join(policy.order_classes))
    elif order_class == "cross_border" and country == policy.home_country:
        problems.add("order_class", "cross_border_domestic", home=policy.home_country)


def _check_amount(path: str, value: Decimal, currency: str | None, problems: _Problems) -> bool:
    if value < 0:
        problems.add(path, "not_negative", value=value)
        return False
    if currency and has_excess_precision(value, currency):
        problems.add(path, "amount_precision", currency=currency, digits=minor_units(currency), value=value)
        return False
    return True


def _check_amounts(
    sub: OrderSubmission,
    lines: list[DraftLine],
    currency: str | None,
    service: str | None,
    policy: IntakePolicy,
    problems: _Problems,
) -> dict[str, Decimal] | None:
    """Each check runs as soon as the values it needs are valid, so one missing field doesn't
    hide an unrelated problem (a missing payment doesn't hide a wrong total)."""
    shipping_ok = _check_amount("shipping_fee", sub.shipping_fee, currency, problems)
    discounts_ok = _check_amount("discounts", sub.discounts, currency, problems)
    payment = sub.payment
    payment_ok = payment is not None
    if payment is None:
        problems.add("payment", "required")
    else:
        if _blank(payment.method):
            problems.add("payment.method", "required")
        elif payment.method not in policy.payment_methods:
            problems.add("payment.method", "one_of", value=payment.method, allowed=", ".join(policy.payment_methods))
        if payment.status not in ("unpaid", "paid"):
            problems.add("payment.status", "one_of", value=payment.status, allowed="unpaid, paid")
            payment_ok = False
        payment_ok &= _check_amount("payment.amount_paid", payment.amount_paid, currency, problems)
    total_ok = sub.total is not None
    if sub.total is None:
        problems.add("total", "required")
    else:
        total_ok = _check_amount("total", sub.total, currency, problems)
    if currency is None:
        return None
    shipping = quantize(sub.shipping_fee, currency)
    if service is not None and shipping_ok:
        minimum = quantize(policy.service_types[service].min_shipping_fee, currency)
        if shipping < minimum:
            problems.add(
                "shipping_fee",
                "service_fee_too_low",
                service=service,
                minimum=minimum,
                currency=currency,
                value=shipping,
            )
    # An empty list has no total to check: "lines_empty" already says what is wrong.
    complete_lines = bool(sub.lines) and len(lines) == len(sub.lines or ())
    if not (complete_lines and shipping_ok and discounts_ok and total_ok):
        return None
    assert sub.total is not None
    goods = sum((line.amount for line in lines), Decimal(0))
    discounts = quantize(sub.discounts, currency)
    expected = goods + shipping - discounts
    total = quantize(sub.total, currency)
    if discounts > goods + shipping:
        problems.add("discounts", "discount_exceeds", value=discounts, gross=goods + shipping)
    elif total != expected:
        problems.add(
            "total",
            "total_mismatch",
            lines=goods,
            shipping=shipping,
            discounts=discounts,
            expected=expected,
            value=total,
        )
    if payment is None or not payment_ok:
        return None
    paid = quantize(payment.amount_paid, currency)
    if payment.status == "paid" and paid != total:
        problems.add("payment.amount_paid", "paid_amount_mismatch", total=total, value=paid)
    elif payment.status == "unpaid" and paid != 0:
        problems.add("payment.amount_paid", "unpaid_amount_nonzero", value=paid)
    return {"goods": goods, "shipping": shipping, "discounts": discounts, "total": total, "paid": paid}
