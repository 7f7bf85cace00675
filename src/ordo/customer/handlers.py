"""Customer commands and reads. Phones are stored in E.164 and e-mail addresses normalised, the
same way order intake stores them, so that intake finds the customer again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.customer.schemas import CustomerCreate, CustomerPage, CustomerRead, CustomerUpdate
from ordo.customer.tables import Customer
from ordo.kernel.checks import MAX_PAGE, Checks
from ordo.kernel.errors import Conflict, NotFound, Problem, ValidationFailed
from ordo.order.rules import normalise_email, normalise_phone

CUSTOMER = "customer"
MAX_VIP_LEVEL = 9
COLUMNS = ("name", "phone", "email", "account", "vip_level")


def customer_columns(values: Mapping[str, Any], home_country: str) -> dict[str, Any]:
    """Pure: the normalised columns of a customer, or every problem at once."""
    checks = Checks()
    name = checks.text(values, "name")
    phone, email = checks.text(values, "phone", required=False), checks.text(values, "email", required=False)
    if phone is None and email is None:
        checks.add("phone", "phone_or_email_required")
    if phone is not None:
        phone, key, params = normalise_phone(phone, home_country)
        if key:
            checks.add("phone", key, **params)
    if email is not None:
        raw, email = email, normalise_email(email)
        if email is None:
            checks.add("email", "email_invalid", value=raw)
    columns = {
        "name": name, "phone": phone, "email": email, "account": checks.text(values, "account", required=False),
        "vip_level": checks.whole(values, "vip_level", low=0, high=MAX_VIP_LEVEL, default=0),
    }
    checks.raise_any()
    return columns


def _load(session: Session, customer_id: int, *, for_update: bool = False) -> Customer:
    statement = select(Customer).where(Customer.id == customer_id)
    customer = session.scalars(statement.with_for_update() if for_update else statement).one_or_none()
    if customer is None:
        raise NotFound(CUSTOMER, customer_id)
    return customer


def _ensure_unique(session: Session, columns: Mapping[str, Any], current_id: int | None) -> None:
    """One customer per phone number and per e-mail address: intake matches customers on them."""
    for column in (Customer.phone, Customer.email):
        value = columns[column.key]
        if value is not None and session.scalar(
            select(Customer.id).where(column == value, Customer.id != (current_id or -1)).limit(1)
        ) is not None:
            raise Conflict("reference_exists", kind=CUSTOMER, ident=value)


def create_customer(uow: UnitOfWork, *, data: CustomerCreate, actor: Actor) -> CustomerRead:
    actor.require(Permission.REFERENCE_WRITE)
    columns = customer_columns(data.model_dump(exclude_unset=True), uow.policy.intake.home_country)
    _ensure_unique(uow.session, columns, None)
    customer = Customer(**columns, created_at=uow.clock.now())
    uow.session.add(customer)
    uow.session.flush()
    record(uow.session, at=uow.clock.now(), actor=actor.name, entity="customer", entity_id=customer.id,
           name="customer.created")
    return CustomerRead.model_validate(customer)


def update_customer(uow: UnitOfWork, *, customer_id: int, changes: CustomerUpdate, actor: Actor) -> CustomerRead:
    actor.require(Permission.REFERENCE_WRITE)
    customer = _load(uow.session, customer_id, for_update=True)
    stored = {name: getattr(customer, name) for name in COLUMNS}
    columns = customer_columns({**stored, **changes.model_dump(exclude_unset=True)}, uow.policy.intake.home_country)
    _ensure_unique(uow.session, columns, customer.id)
    changed = sorted(name for name, value in columns.items() if stored[name] != value)
    if changed:
        for name in changed:
            setattr(customer, name, columns[name])
        record(uow.session, at=uow.clock.now(), actor=actor.name, entity="customer", entity_id=customer.id,
               name="customer.updated", data={"fields": changed})
    return CustomerRead.model_validate(customer)


def get_customer(uow: UnitOfWork, *, customer_id: int, actor: Actor) -> CustomerRead:
    actor.require(Permission.REFERENCE_READ)
    return CustomerRead.model_validate(_load(uow.session, customer_id))


def list_customers(
    uow: UnitOfWork, *, actor: Actor, phone: str | None = None, email: str | None = None,
    account: str | None = None, name: str | None = None, cursor: str | None = None, limit: int = 50,
) -> CustomerPage:
    """Oldest first; the cursor is the last id seen. ``phone`` matches in any format, ``name`` in part."""
    actor.require(Permission.REFERENCE_READ)
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(Customer)
    if phone:
        e164, _, _ = normalise_phone(phone, uow.policy.intake.home_country)
        statement = statement.where(Customer.phone == (e164 or phone))
    if email:
        statement = statement.where(Customer.email == (normalise_email(email) or email))
    if account:
        statement = statement.where(Customer.account == account)
    if name:
        statement = statement.where(Customer.name.icontains(name, autoescape=True))
    if cursor:
        if not cursor.isdigit():
            raise ValidationFailed([Problem("cursor", "invalid_type", {"path": "cursor", "expected": "a cursor"})])
        statement = statement.where(Customer.id > int(cursor))
    rows = uow.session.scalars(statement.order_by(Customer.id).limit(limit + 1)).all()
    items = [CustomerRead.model_validate(c) for c in rows[:limit]]
    return CustomerPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
