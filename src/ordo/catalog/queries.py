"""Reading the catalogue inside a command."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.adapters.db.reference import cached_many, keep_many
from ordo.catalog.model import SkuView
from ordo.catalog.tables import Sku


def view_of(sku: Sku) -> SkuView:
    return SkuView(id=sku.id, code=sku.code, name=sku.name, category=sku.category,
                   traits=frozenset(sku.traits or ()), price=sku.price, weight_g=sku.weight_g)


def active_skus(session: Session, codes: Iterable[str]) -> dict[str, SkuView]:
    """The active SKUs with these codes, from the process's reference copies where it has them."""
    def load(s: Session, missing: list[str]) -> dict[str, SkuView]:
        return {sku.code: view_of(sku) for sku in s.scalars(select(Sku).where(Sku.code.in_(missing),
                                                                                 Sku.active.is_(True)))}

    found = cached_many(session, "sku_code", sorted(set(codes)), load)
    views = {code: view for code, view in found.items() if view is not None}
    keep_many(session, "sku_id", {view.id: view for view in views.values()})  # read by id further on
    return views


def sku_views(session: Session, ids: Iterable[int]) -> dict[int, SkuView]:
    """The SKUs with these ids, active or not, from the process's reference copies where it has them."""
    def load(s: Session, missing: list[int]) -> dict[int, SkuView]:
        return {sku.id: view_of(sku) for sku in s.scalars(select(Sku).where(Sku.id.in_(missing)))}

    found = cached_many(session, "sku_id", sorted(set(ids)), load)
    return {sku_id: view for sku_id, view in found.items() if view is not None}
