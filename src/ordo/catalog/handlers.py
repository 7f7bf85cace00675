"""SKU commands and reads, and the catalog file import (shops, SKUs, warehouses and stock in the
caller's one transaction). Permission is checked here, so the API and the CLI cannot forget it.

Nothing is ever deleted: a SKU that orders refer to is deactivated and stays readable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordo.audit.log import record
from ordo.auth.model import Actor, Permission
from ordo.bootstrap import UnitOfWork
from ordo.catalog.schemas import SkuCreate, SkuPage, SkuRead, SkuUpdate
from ordo.catalog.tables import Sku
from ordo.channel.handlers import save_shop
from ordo.channel.schemas import ShopCreate
from ordo.inventory.schemas import StockReceiptIn, WarehouseCreate
from ordo.inventory.warehouses import receive_stock, save_warehouse
from ordo.kernel.checks import MAX_PAGE, Checks, In, Outcome, problems_of, under
from ordo.kernel.errors import Conflict, NotFound, Problem, ValidationFailed
from ordo.policy import IntakePolicy, Trait

SKU = "SKU"
DEFAULT_CURRENCY = "CNY"
MAX_WEIGHT_G = 10_000_000  # 10 t
MAX_SIDE_MM = 100_000  # 100 m
HS_CODE = re.compile(r"[0-9]{6,10}")
COLUMNS = (
    "code", "barcode", "name", "category", "weight_g", "length_mm", "width_mm", "height_mm", "currency", "price",
    "traits", "hs_code", "declared_value", "origin_country", "active",
)


def sku_columns(values: Mapping[str, Any], policy: IntakePolicy, checks: Checks) -> dict[str, Any]:
    """Pure: the normalised columns of a SKU from what was sent (merged over the stored values on update)."""
    columns: dict[str, Any] = {
        "code": checks.code(values),
        "barcode": checks.text(values, "barcode", required=False),
        "name": checks.text(values, "name"),
        "category": checks.text(values, "category"),
        "weight_g": checks.whole(values, "weight_g", low=0, high=MAX_WEIGHT_G, default=0),
    }
    for side in ("length_mm", "width_mm", "height_mm"):
        columns[side] = checks.whole(values, side, low=0, high=MAX_SIDE_MM, default=0)
    currency = checks.one_of(values, "currency", policy.currencies, default=DEFAULT_CURRENCY, normal=str.upper)
    columns["currency"] = currency
    columns["price"] = checks.amount(values, "price", currency)
    columns["traits"] = checks.members(values, "traits", [t.value for t in Trait])
    hs_code = checks.text(values, "hs_code", required=False)
    if hs_code is not None and not HS_CODE.fullmatch(hs_code):
        checks.add("hs_code", "hs_code_invalid", value=hs_code)
    columns["hs_code"] = hs_code
    columns["declared_value"] = checks.amount(values, "declared_value", currency, required=False)
    columns["origin_country"] = checks.country(values, "origin_country", required=False)
    columns["active"] = checks.flag(values, "active", default=True)
    return columns


def _find(session: Session, code: str | None, *, for_update: bool = False) -> Sku | None:
    if not code:
        return None
    statement = select(Sku).where(Sku.code == code)
    return session.scalars(statement.with_for_update() if for_update else statement).one_or_none()


def _load(session: Session, code: str, *, for_update: bool = False) -> Sku:
    sku = _find(session, code, for_update=for_update)
    if sku is None:
        raise NotFound(SKU, code)
    return sku


def _checked(uow: UnitOfWork, values: Mapping[str, Any], current: Sku | None) -> dict[str, Any]:
    checks = Checks()
    columns = sku_columns(values, uow.policy.intake, checks)
    if columns["barcode"] is not None:
        holder = uow.session.scalar(
            select(Sku.code).where(Sku.barcode == columns["barcode"], Sku.id != (current.id if current else -1))
        )
        if holder is not None:
            checks.add("barcode", "barcode_taken", value=columns["barcode"], sku=holder)
    checks.raise_any()
    return columns


def _stored(sku: Sku) -> dict[str, Any]:
    return {name: getattr(sku, name) for name in COLUMNS}


def _insert(uow: UnitOfWork, columns: dict[str, Any], actor: Actor) -> Sku:
    if _find(uow.session, columns["code"]) is not None:
        raise Conflict("reference_exists", kind=SKU, ident=columns["code"])
    sku = Sku(**columns)
    uow.session.add(sku)
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent twin won the race for the code
        raise Conflict("reference_exists", kind=SKU, ident=columns["code"]) from None
    record(uow.session, at=uow.clock.now(), actor=actor.name, entity="sku", entity_id=sku.id, name="sku.created",
           data={"code": sku.code})
    return sku


def _change(uow: UnitOfWork, sku: Sku, columns: dict[str, Any], actor: Actor) -> Outcome:
    changed = sorted(name for name, value in columns.items() if getattr(sku, name) != value)
    if not changed:
        return Outcome.UNCHANGED
    for name in changed:
        setattr(sku, name, columns[name])
    record(uow.session, at=uow.clock.now(), actor=actor.name, entity="sku", entity_id=sku.id, name="sku.updated",
           data={"code": sku.code, "fields": changed})
    return Outcome.UPDATED


def create_sku(uow: UnitOfWork, *, data: SkuCreate, actor: Actor) -> SkuRead:
    actor.require(Permission.REFERENCE_WRITE)
    columns = _checked(uow, data.model_dump(exclude_unset=True), None)
    return SkuRead.model_validate(_insert(uow, columns, actor))


def update_sku(uow: UnitOfWork, *, code: str, changes: SkuUpdate, actor: Actor) -> SkuRead:
    actor.require(Permission.REFERENCE_WRITE)
    sku = _load(uow.session, code, for_update=True)
    columns = _checked(uow, {**_stored(sku), **changes.model_dump(exclude_unset=True)}, sku)
    _change(uow, sku, columns, actor)
    return SkuRead.model_validate(sku)


def save_sku(uow: UnitOfWork, *, data: SkuCreate, actor: Actor) -> tuple[SkuRead, Outcome]:
    """Create, or update the SKU with the same code (the fields sent; the others stay)."""
    actor.require(Permission.REFERENCE_WRITE)
    sent = data.model_dump(exclude_unset=True)
    sku = _find(uow.session, sent.get("code"), for_update=True)
    if sku is None:
        return SkuRead.model_validate(_insert(uow, _checked(uow, sent, None), actor)), Outcome.CREATED
    outcome = _change(uow, sku, _checked(uow, {**_stored(sku), **sent}, sku), actor)
    return SkuRead.model_validate(sku), outcome


def deactivate_sku(uow: UnitOfWork, *, code: str, actor: Actor) -> SkuRead:
    """Soft delete: orders keep referring to it, intake no longer accepts it."""
    actor.require(Permission.REFERENCE_WRITE)
    sku = _load(uow.session, code, for_update=True)
    if sku.active:
        sku.active = False
        record(uow.session, at=uow.clock.now(), actor=actor.name, entity="sku", entity_id=sku.id,
               name="sku.deactivated", data={"code": sku.code})
    return SkuRead.model_validate(sku)


def get_sku(uow: UnitOfWork, *, code: str, actor: Actor) -> SkuRead:
    actor.require(Permission.REFERENCE_READ)
    return SkuRead.model_validate(_load(uow.session, code))


def list_skus(
    uow: UnitOfWork, *, actor: Actor, category: str | None = None, q: str | None = None,
    include_inactive: bool = False, cursor: str | None = None, limit: int = 50,
) -> SkuPage:
    """By code; the cursor is the last code seen."""
    actor.require(Permission.REFERENCE_READ)
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(Sku)
    if not include_inactive:
        statement = statement.where(Sku.active.is_(True))
    if category:
        statement = statement.where(Sku.category == category)
    if q:
        statement = statement.where(Sku.code.icontains(q, autoescape=True) | Sku.name.icontains(q, autoescape=True))
    if cursor:
        statement = statement.where(Sku.code > cursor)
    rows = uow.session.scalars(statement.order_by(Sku.code).limit(limit + 1)).all()
    items = [SkuRead.model_validate(s) for s in rows[:limit]]
    return SkuPage(items=items, next_cursor=items[-1].code if len(rows) > limit else None)


# --- catalog import -------------------------------------------------------------------------------

SECTIONS = ("shops", "skus", "warehouses", "stock")
M = TypeVar("M", bound=In)
DEFAULT_RECEIPT_REASON = "catalog import"


@dataclass
class ImportReport:
    counts: dict[str, Counter[Outcome]] = field(default_factory=lambda: {s: Counter() for s in SECTIONS[:3]})
    receipts: int = 0
    units: int = 0


Saver = Callable[..., tuple[Any, Outcome]]
_SAVERS: dict[str, tuple[type[In], Saver]] = {
    "shops": (ShopCreate, save_shop),
    "skus": (SkuCreate, save_sku),
    "warehouses": (WarehouseCreate, save_warehouse),
}


def _section(document: dict[str, Any], name: str, problems: list[Problem]) -> list[Any]:
    records = document.get(name)
    if records is None:
        return []
    if not isinstance(records, list):
        problems.append(Problem(name, "invalid_type", {"path": name, "expected": "a list"}))
        return []
    return records


def import_catalog(uow: UnitOfWork, *, document: Any, actor: Actor) -> ImportReport:
    """Upsert shops, SKUs and warehouses by code, then receive the stock entries (their quantity is
    added to on hand). Every problem of every record is collected under its place in the file
    (``skus[3].price``) and raised together, so the caller's rollback leaves nothing written."""
    actor.require(Permission.REFERENCE_WRITE)
    if not isinstance(document, dict):
        raise ValidationFailed([Problem("body", "invalid_type", {"path": "body", "expected": "an object"})])
    if document.get("stock"):
        actor.require(Permission.STOCK_WRITE)
    problems = [Problem(k, "unknown_field", {"path": k}) for k in document if k not in SECTIONS]
    report = ImportReport()
    refused: dict[str, set[str]] = {name: set() for name in _SAVERS}
    for name, (model, save) in _SAVERS.items():
        first_seen: dict[str, str] = {}
        for index, raw in enumerate(_section(document, name, problems)):
            path = f"{name}[{index}]"
            code = raw.get("code") if isinstance(raw, dict) else None
            code = code.strip() if isinstance(code, str) else None
            if code and code in first_seen:
                problems.append(Problem(f"{path}.code", "duplicate_in_file",
                                        {"path": f"{path}.code", "value": code, "first": first_seen[code]}))
                continue
            if code:
                first_seen[code] = path
            data, mistyped, dropped = _parsed(model, raw, path)
            found = list(mistyped)
            try:
                if data is not None:
                    _, outcome = save(uow, data=data, actor=actor)
                    report.counts[name][outcome] += 1
            except ValidationFailed as exc:
                found += under(path, [p for p in exc.problems if _field(p) not in dropped])
            if found:
                problems += found
                refused[name].add(code or "")
    for index, raw in enumerate(_section(document, "stock", problems)):
        path = f"stock[{index}]"
        receipt, mistyped, dropped = _parsed(StockReceiptIn, raw, path)
        problems += mistyped
        if receipt is None:
            continue
        try:
            if receipt.reason is None:
                receipt = receipt.model_copy(update={"reason": DEFAULT_RECEIPT_REASON})
            receive_stock(uow, receipt=receipt, actor=actor)
            report.receipts += 1
            report.units += receipt.quantity or 0
        except ValidationFailed as exc:
            # A receipt for a SKU or warehouse refused above would only repeat that record's problem.
            problems += under(path, [
                p for p in exc.problems if _field(p) not in dropped and not _names_refused(p, refused)
            ])
    if problems:
        raise ValidationFailed(problems)
    return report


def _parsed(model: type[M], raw: Any, path: str) -> tuple[M | None, list[Problem], set[str]]:
    """The record as the input model, its type problems, and the fields left out for them.

    A record with a mistyped field is parsed again without it, so that its other fields are still
    checked and every problem of the file is reported in one go (the import is rolled back anyway).
    """
    try:
        return model.model_validate(raw), [], set()
    except ValidationError as exc:
        mistyped = problems_of(exc, path)
        if not isinstance(raw, dict):
            return None, mistyped, set()
        dropped = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        try:
            return model.model_validate({k: v for k, v in raw.items() if k not in dropped}), mistyped, dropped
        except ValidationError:
            return None, mistyped, dropped


def _field(problem: Problem) -> str:
    return re.split(r"[.\[]", problem.path, maxsplit=1)[0]


def _names_refused(problem: Problem, refused: Mapping[str, set[str]]) -> bool:
    section = {"sku_unknown": "skus", "warehouse_unknown": "warehouses"}.get(problem.key)
    return section is not None and problem.params.get("value") in refused[section]
