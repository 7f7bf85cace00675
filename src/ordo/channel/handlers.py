"""Shop commands and reads. A shop that orders refer to is deactivated, never deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.channel.model import ChannelKind
from ordo.channel.schemas import ShopCreate, ShopPage, ShopRead, ShopUpdate
from ordo.channel.tables import Shop
from ordo.kernel.checks import MAX_PAGE, Checks, Outcome
from ordo.kernel.errors import Conflict, NotFound

SHOP = "shop"
COLUMNS = ("code", "name", "channel", "active")


def shop_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pure: the normalised columns of a shop, or every problem at once."""
    checks = Checks()
    columns = {
        "code": checks.code(values),
        "name": checks.text(values, "name"),
        "channel": checks.one_of(values, "channel", [c.value for c in ChannelKind]),
        "active": checks.flag(values, "active", default=True),
    }
    checks.raise_any()
    return columns


def _find(session: Session, code: str | None, *, for_update: bool = False) -> Shop | None:
    if not code:
        return None
    statement = select(Shop).where(Shop.code == code)
    return session.scalars(statement.with_for_update() if for_update else statement).one_or_none()


def _load(session: Session, code: str, *, for_update: bool = False) -> Shop:
    shop = _find(session, code, for_update=for_update)
    if shop is None:
        raise NotFound(SHOP, code)
    return shop


def _insert(uow: UnitOfWork, columns: dict[str, Any], actor: Actor) -> Shop:
    if _find(uow.session, columns["code"]) is not None:
        raise Conflict("reference_exists", kind=SHOP, ident=columns["code"])
    shop = Shop(**columns, created_at=uow.clock.now())
    uow.session.add(shop)
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent twin won the race for the code
        raise Conflict("reference_exists", kind=SHOP, ident=columns["code"]) from None
    record(uow.session, at=uow.clock.now(), actor=actor.name, entity="shop", entity_id=shop.id, name="shop.created",
           data={"code": shop.code})
    return shop


def _change(uow: UnitOfWork, shop: Shop, columns: dict[str, Any], actor: Actor) -> Outcome:
    changed = sorted(name for name, value in columns.items() if getattr(shop, name) != value)
    if not changed:
        return Outcome.UNCHANGED
    for name in changed:
        setattr(shop, name, columns[name])
    record(uow.session, at=uow.clock.now(), actor=actor.name, entity="shop", entity_id=shop.id, name="shop.updated",
           data={"code": shop.code, "fields": changed})
    return Outcome.UPDATED


def _stored(shop: Shop) -> dict[str, Any]:
    return {name: getattr(shop, name) for name in COLUMNS}


def create_shop(uow: UnitOfWork, *, data: ShopCreate, actor: Actor) -> ShopRead:
    actor.require(Permission.REFERENCE_WRITE)
    return ShopRead.model_validate(_insert(uow, shop_columns(data.model_dump(exclude_unset=True)), actor))


def update_shop(uow: UnitOfWork, *, code: str, changes: ShopUpdate, actor: Actor) -> ShopRead:
    actor.require(Permission.REFERENCE_WRITE)
    shop = _load(uow.session, code, for_update=True)
    _change(uow, shop, shop_columns({**_stored(shop), **changes.model_dump(exclude_unset=True)}), actor)
    return ShopRead.model_validate(shop)


def save_shop(uow: UnitOfWork, *, data: ShopCreate, actor: Actor) -> tuple[ShopRead, Outcome]:
    """Create, or update the shop with the same code (the fields sent; the others stay)."""
    actor.require(Permission.REFERENCE_WRITE)
    sent = data.model_dump(exclude_unset=True)
    shop = _find(uow.session, sent.get("code"), for_update=True)
    if shop is None:
        return ShopRead.model_validate(_insert(uow, shop_columns(sent), actor)), Outcome.CREATED
    outcome = _change(uow, shop, shop_columns({**_stored(shop), **sent}), actor)
    return ShopRead.model_validate(shop), outcome


def deactivate_shop(uow: UnitOfWork, *, code: str, actor: Actor) -> ShopRead:
    """Soft delete: its orders keep referring to it, intake no longer accepts it."""
    actor.require(Permission.REFERENCE_WRITE)
    shop = _load(uow.session, code, for_update=True)
    if shop.active:
        shop.active = False
        record(uow.session, at=uow.clock.now(), actor=actor.name, entity="shop", entity_id=shop.id,
               name="shop.deactivated", data={"code": shop.code})
    return ShopRead.model_validate(shop)


def get_shop(uow: UnitOfWork, *, code: str, actor: Actor) -> ShopRead:
    actor.require(Permission.REFERENCE_READ)
    return ShopRead.model_validate(_load(uow.session, code))


def list_shops(
    uow: UnitOfWork, *, actor: Actor, channel: str | None = None, include_inactive: bool = False,
    cursor: str | None = None, limit: int = 50,
) -> ShopPage:
    """By code; the cursor is the last code seen."""
    actor.require(Permission.REFERENCE_READ)
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(Shop)
    if not include_inactive:
        statement = statement.where(Shop.active.is_(True))
    if channel:
        statement = statement.where(Shop.channel == channel)
    if cursor:
        statement = statement.where(Shop.code > cursor)
    rows = uow.session.scalars(statement.order_by(Shop.code).limit(limit + 1)).all()
    items = [ShopRead.model_validate(s) for s in rows[:limit]]
    return ShopPage(items=items, next_cursor=items[-1].code if len(rows) > limit else None)
