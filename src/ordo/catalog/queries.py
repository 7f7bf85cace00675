"""Reading the catalogue inside a command."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ordo.catalog.tables import Sku


def skus_by_id(session: Session, ids: Iterable[int]) -> dict[int, Sku]:
    """The SKUs with these ids. Those the command already loaded (intake reads every SKU of the
    order) come from the session's identity map; only the others are read, in one query."""
    found: dict[int, Sku] = {}
    missing: list[int] = []
    for sku_id in sorted(set(ids)):
        sku = session.identity_map.get(identity_key(Sku, sku_id))
        if sku is None:
            missing.append(sku_id)
        else:
            found[sku_id] = sku
    if missing:
        found.update((s.id, s) for s in session.scalars(select(Sku).where(Sku.id.in_(missing))))
    return found
