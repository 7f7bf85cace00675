"""`ordo shops|skus|warehouses|customers …`, `ordo stock receive|show` and `ordo catalog import FILE`.

Thin: the options become the same input models the API takes, and the handlers check permissions
and every field. Bad input exits with 2, refusals with 1 (see ``reported``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table

from ordo.catalog import handlers as catalog_handlers
from ordo.catalog.schemas import SkuCreate, SkuUpdate
from ordo.channel import handlers as shop_handlers
from ordo.channel.schemas import ShopCreate, ShopUpdate
from ordo.customer import handlers as customer_handlers
from ordo.customer.schemas import CustomerCreate, CustomerUpdate
from ordo.entrypoints.cli import common
from ordo.entrypoints.cli.common import acting_user, console, fail, parse, read_json, reported
from ordo.inventory import warehouses as warehouse_handlers
from ordo.inventory.schemas import (
    StockAdjustmentIn,
    StockBinIn,
    StockReceiptIn,
    StockTransferIn,
    WarehouseCreate,
    WarehouseUpdate,
)
from ordo.kernel.checks import In, Outcome

shops = typer.Typer(help="Shops: the sales channels orders come from.", no_args_is_help=True)
skus = typer.Typer(help="SKUs: the goods sold.", no_args_is_help=True)
warehouses = typer.Typer(help="Warehouses: where stock is kept and shipped from.", no_args_is_help=True)
customers = typer.Typer(help="Customers.", no_args_is_help=True)
stock = typer.Typer(help="Stock: receive goods, adjust, show levels.", no_args_is_help=True)
catalog = typer.Typer(help="Catalog files: shops, SKUs, warehouses and stock in one go.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach the reference-data commands to the main app."""
    app.add_typer(shops, name="shops")
    app.add_typer(skus, name="skus")
    app.add_typer(warehouses, name="warehouses")
    app.add_typer(customers, name="customers")
    app.add_typer(stock, name="stock")
    app.add_typer(catalog, name="catalog")


AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: system)")]
All = Annotated[bool, typer.Option("--all", help="Include inactive ones")]
Limit = Annotated[int, typer.Option(min=1, max=200)]
Active = Annotated[bool | None, typer.Option("--active/--inactive", help="Reactivate or deactivate")]

M = TypeVar("M", bound=In)


def _model(model: type[M], values: dict[str, Any]) -> M:
    """The options given (not None) as an input model; type errors become field problems."""
    return parse(model, {k: v for k, v in values.items() if v is not None})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _table(items: Sequence[BaseModel], columns: Iterable[str], next_cursor: str | None = None) -> None:
    names = list(columns)
    table = Table(*names)
    for item in items:
        data = item.model_dump()
        table.add_row(*(_text(data[name]) for name in names))
    console.print(table)
    if next_cursor:
        console.print(f"more: --cursor {next_cursor}")


def _record(item: BaseModel) -> None:
    table = Table("field", "value", show_header=False)
    for name, value in item.model_dump().items():
        table.add_row(name, _text(value))
    console.print(table)


# --- shops --------------------------------------------------------------------------------------------


@shops.command("list")
def shops_list(channel: str | None = None, all_: All = False, limit: Limit = 50, cursor: str | None = None,
               as_user: AsUser = None) -> None:
    """Shops by code."""
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        page = shop_handlers.list_shops(uow, actor=actor, channel=channel, include_inactive=all_, cursor=cursor,
                                        limit=limit)
    _table(page.items, ("code", "name", "channel", "active"), page.next_cursor)


@shops.command("show")
def shops_show(code: str, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        _record(shop_handlers.get_shop(uow, code=code, actor=actor))


@shops.command("add")
def shops_add(code: str, name: Annotated[str, typer.Option()],
              channel: Annotated[str, typer.Option(help="web, app, mini_program, marketplace, offline, email, api")],
              as_user: AsUser = None) -> None:
    """Add a shop."""
    actor = acting_user(as_user)
    with reported(), common.ordo().transaction() as uow:
        data = _model(ShopCreate, {"code": code, "name": name, "channel": channel})
        shop = shop_handlers.create_shop(uow, data=data, actor=actor)
    console.print(f"shop [bold]{shop.code}[/bold] added")


@shops.command("update")
def shops_update(code: str, name: str | None = None, channel: str | None = None, active: Active = None,
                 as_user: AsUser = None) -> None:
    """Change the options given; the rest stays."""
    actor = acting_user(as_user)
    with reported(), common.ordo().transaction() as uow:
        changes = _model(ShopUpdate, {"name": name, "channel": channel, "active": active})
        _record(shop_handlers.update_shop(uow, code=code, changes=changes, actor=actor))


@shops.command("delete")
def shops_delete(code: str, as_user: AsUser = None) -> None:
    """Deactivate: its orders keep referring to it; intake no longer accepts orders for it."""
    actor = acting_user(as_user)
    with reported(), common.ordo().transaction() as uow:
        shop_handlers.deactivate_shop(uow, code=code, actor=actor)
    console.print(f"shop [bold]{code}[/bold] deactivated")


# --- SKUs ------------------------------------------------------------------------------------------

Trait = Annotated[list[str] | None, typer.Option("--trait", help="fragile, liquid, perishable, electronics, bulky, "
                                                                 "prohibited; repeat for several")]


def _sku_options(**options: Any) -> dict[str, Any]:
    options["traits"] = options.pop("trait") or None
    return options


@skus.command("list")
def skus_list(category: str | None = None, q: Annotated[str | None, typer.Option(help="Part of code or name")] = None,
              all_: All = False, limit: Limit = 50, cursor: str | None = None, as_user: AsUser = None) -> None:
    """SKUs by code."""
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        page = catalog_handlers.list_skus(uow, actor=actor, category=category, q=q, include_inactive=all_,
                                          cursor=cursor, limit=limit)
    _table(page.items, ("code", "name", "category", "price", "currency", "traits", "active"), page.next_cursor)


@skus.command("show")
def skus_show(code: str, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        _record(catalog_handlers.get_sku(uow, code=code, actor=actor))


@skus.command("add")
def skus_add(
    code: str,
    name: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option()],
    price: Annotated[str, typer.Option(help="Decimal, e.g. 25.00")],
    currency: str | None = None,
    barcode: str | None = None,
    weight_g: int | None = None,
    length_mm: int | None = None,
    width_mm: int | None = None,
    height_mm: int | None = None,
    trait: Trait = None,
    hs_code: str | None = None,
    declared_value: str | None = None,
    origin_country: str | None = None,
    as_user: AsUser = None,
) -> None:
    """Add a SKU."""
    actor = acting_user(as_user)
    values = _sku_options(code=code, name=name, category=category, price=price, currency=currency, barcode=barcode,
                          weight_g=weight_g, length_mm=length_mm, width_mm=width_mm, height_mm=height_mm,
                          trait=trait, hs_code=hs_code, declared_value=declared_value, origin_country=origin_country)
    with reported(), common.ordo().transaction() as uow:
        sku = catalog_handlers.create_sku(uow, data=_model(SkuCreate, values), actor=actor)
    console.print(f"SKU [bold]{sku.code}[/bold] added")


@skus.command("update")
def skus_update(
    code: str,
    name: str | None = None,
    category: str | None = None,
    price: str | None = None,
    currency: str | None = None,
    barcode: str | None = None,
    weight_g: int | None = None,
    length_mm: int | None = None,
    width_mm: int | None = None,
    height_mm: int | None = None,
    trait: Trait = None,
    hs_code: str | None = None,
    declared_value: str | None = None,
    origin_country: str | None = None,
    active: Active = None,
    as_user: AsUser = None,
) -> None:
    """Change the options given; the rest stays (--trait replaces the whole set)."""
    actor = acting_user(as_user)
    values = _sku_options(name=name, category=category, price=price, currency=currency, barcode=barcode,
                          weight_g=weight_g, length_mm=length_mm, width_mm=width_mm, height_mm=height_mm,
                          trait=trait, hs_code=hs_code, declared_value=declared_value, origin_country=origin_country,
                          active=active)
    with reported(), common.ordo().transaction() as uow:
        _record(catalog_handlers.update_sku(uow, code=code, changes=_model(SkuUpdate, values), actor=actor))


@skus.command("delete")
def skus_delete(code: str, as_user: AsUser = None) -> None:
    """Deactivate: orders keep referring to it; new orders cannot use it."""
    actor = acting_user(as_user)
    with reported(), common.ordo().transaction() as uow:
        catalog_handlers.deactivate_sku(uow, code=code, actor=actor)
    console.print(f"SKU [bold]{code}[/bold] deactivated")


# --- warehouses ------------------------------------------------------------------------------------

Serves = Annotated[list[str] | None, typer.Option("--serves", help="Destination country; repeat for several")]
Capability = Annotated[list[str] | None, typer.Option("--capability", help="e.g. cold_chain; repeat for several")]


@warehouses.command("list")
def warehouses_list(kind: str | None = None, country: str | None = None, all_: All = False, limit: Limit = 50,
                    cursor: str | None = None, as_user: AsUser = None) -> None:
    """Warehouses by code."""
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        page = warehouse_handlers.list_warehouses(uow, actor=actor, kind=kind, country=country,
                                                  include_inactive=all_, cursor=cursor, limit=limit)
    _table(page.items, ("code", "name", "kind", "country", "region", "serves", "capabilities", "priority", "active"),
           page.next_cursor)


@warehouses.command("show")
def warehouses_show(code: str, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        _record(warehouse_handlers.get_warehouse(uow, code=code, actor=actor))


@warehouses.command("add")
def warehouses_add(
    code: str,
    name: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="domestic or overseas")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")],
    region: Annotated[str, typer.Option()],
    serves: Serves = None,
    capability: Capability = None,
    priority: int | None = None,
    as_user: AsUser = None,
) -> None:
    """Add a warehouse."""
    actor = acting_user(as_user)
    values = {"code": code, "name": name, "kind": kind, "country": country, "region": region, "serves": serves,
              "capabilities": capability, "priority": priority}
    with reported(), common.ordo().transaction() as uow:
        warehouse = warehouse_handlers.create_warehouse(uow, data=_model(WarehouseCreate, values), actor=actor)
    console.print(f"warehouse [bold]{warehouse.code}[/bold] added")


@warehouses.command("update")
def warehouses_update(
    code: str,
    name: str | None = None,
    kind: str | None = None,
    country: str | None = None,
    region: str | None = None,
    serves: Serves = None,
    capability: Capability = None,
    priority: int | None = None,
    active: Active = None,
    as_user: AsUser = None,
) -> None:
    """Change the options given; the rest stays (--serves and --capability replace the whole list)."""
    actor = acting_user(as_user)
    values = {"name": name, "kind": kind, "country": country, "region": region, "serves": serves or None,
              "capabilities": capability or None, "priority": priority, "active": active}
    with reported(), common.ordo().transaction() as uow:
        changes = _model(WarehouseUpdate, values)
        _record(warehouse_handlers.update_warehouse(uow, code=code, changes=changes, actor=actor))


@warehouses.command("delete")
def warehouses_delete(code: str, as_user: AsUser = None) -> None:
    """Deactivate; refused while orders hold stock reserved in it."""
    actor = acting_user(as_user)
    with reported(), common.ordo().transaction() as uow:
        warehouse_handlers.deactivate_warehouse(uow, code=code, actor=actor)
    console.print(f"warehouse [bold]{code}[/bold] deactivated")


# --- customers -------------------------------------------------------------------------------------


@customers.command("list")
def customers_list(phone: str | None = None, email: str | None = None, account: str | None = None,
                   name: Annotated[str | None, typer.Option(help="Part of the name")] = None, limit: Limit = 50,
                   cursor: str | None = None, as_user: AsUser = None) -> None:
    """Customers, oldest first."""
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        page = customer_handlers.list_customers(uow, actor=actor, phone=phone, email=email, account=account,
                                                name=name, cursor=cursor, limit=limit)
    _table(page.items, ("id", "name", "phone", "email", "account", "vip_level"), page.next_cursor)


@customers.command("show")
def customers_show(customer_id: int, as_user: AsUser = None) -> None:
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        _record(customer_handlers.get_customer(uow, customer_id=customer_id, actor=actor))


@customers.command("add")
def customers_add(name: Annotated[str, typer.Option()], phone: str | None = None, email: str | None = None,
                  account: str | None = None, vip_level: int | None = None, as_user: AsUser = None) -> None:
    """Add a customer (a phone number or an e-mail address is required)."""
    actor = acting_user(as_user)
    values = {"name": name, "phone": phone, "email": email, "account": account, "vip_level": vip_level}
    with reported(), common.ordo().transaction() as uow:
        customer = customer_handlers.create_customer(uow, data=_model(CustomerCreate, values), actor=actor)
    console.print(f"customer [bold]{customer.id}[/bold] added: {customer.name}")


@customers.command("update")
def customers_update(customer_id: int, name: str | None = None, phone: str | None = None, email: str | None = None,
                     account: str | None = None, vip_level: int | None = None, as_user: AsUser = None) -> None:
    """Change the options given; the rest stays."""
    actor = acting_user(as_user)
    values = {"name": name, "phone": phone, "email": email, "account": account, "vip_level": vip_level}
    with reported(), common.ordo().transaction() as uow:
        changes = _model(CustomerUpdate, values)
        _record(customer_handlers.update_customer(uow, customer_id=customer_id, changes=changes, actor=actor))


# --- stock -----------------------------------------------------------------------------------------


@stock.command("receive")
def stock_receive(warehouse: str, sku: str, quantity: int, reason: str | None = None, reference: str | None = None,
                  kind: Annotated[str, typer.Option(help="receipt, or return (goods sent back)")] = "receipt",
                  as_user: AsUser = None) -> None:
    """Goods in: add QUANTITY of SKU to on hand in WAREHOUSE (waiting backorders are served)."""
    actor = acting_user(as_user)
    values = {"warehouse": warehouse, "sku": sku, "quantity": quantity, "reason": reason, "reference": reference,
              "kind": kind}
    with reported(), common.ordo().transaction() as uow:
        level = warehouse_handlers.receive_stock(uow, receipt=_model(StockReceiptIn, values), actor=actor)
    _table([level], ("warehouse", "sku", "on_hand", "reserved", "available"))


@stock.command("bin")
def stock_bin(
    warehouse: str, sku: str, bin_: Annotated[str, typer.Argument(metavar="BIN", help="e.g. A03-015-L; '' clears")],
    as_user: AsUser = None,
) -> None:
    """Set the bin location of SKU in WAREHOUSE."""
    actor = acting_user(as_user)
    values = {"warehouse": warehouse, "sku": sku, "bin": bin_}
    with reported(), common.ordo().transaction() as uow:
        level = warehouse_handlers.set_bin(uow, body=_model(StockBinIn, values), actor=actor)
    _table([level], ("warehouse", "sku", "on_hand", "reserved", "available", "bin"))


@stock.command("adjust")
def stock_adjust(warehouse: str, sku: str, delta: int, reason: Annotated[str, typer.Option()],
                 reference: str | None = None, as_user: AsUser = None) -> None:
    """Correct on hand of SKU in WAREHOUSE by DELTA (negative to take away), with a reason."""
    actor = acting_user(as_user)
    values = {"warehouse": warehouse, "sku": sku, "delta": delta, "reason": reason, "reference": reference}
    with reported(), common.ordo().transaction() as uow:
        level = warehouse_handlers.adjust_stock(uow, adjustment=_model(StockAdjustmentIn, values), actor=actor)
    _table([level], ("warehouse", "sku", "on_hand", "reserved", "available"))


@stock.command("transfer")
def stock_transfer(sku: str, from_warehouse: str, to_warehouse: str, quantity: int, reason: str | None = None,
                   reference: str | None = None, as_user: AsUser = None) -> None:
    """Move QUANTITY available units of SKU from one warehouse to another."""
    actor = acting_user(as_user)
    values = {"sku": sku, "from_warehouse": from_warehouse, "to_warehouse": to_warehouse, "quantity": quantity,
              "reason": reason, "reference": reference}
    with reported(), common.ordo().transaction() as uow:
        moved = warehouse_handlers.transfer_stock(uow, transfer=_model(StockTransferIn, values), actor=actor)
    _table([moved.source, moved.destination], ("warehouse", "sku", "on_hand", "reserved", "available"))


@stock.command("show")
def stock_show(sku: str | None = None, warehouse: str | None = None, as_user: AsUser = None) -> None:
    """On hand, reserved and available per warehouse and SKU."""
    actor = acting_user(as_user)
    with reported(), common.ordo().reading() as uow:
        levels = warehouse_handlers.stock_levels(uow, actor=actor, sku=sku, warehouse=warehouse)
    _table(levels.items, ("warehouse", "sku", "on_hand", "reserved", "available"))


# --- catalog import --------------------------------------------------------------------------------


class _DryRun(Exception):
    def __init__(self, report: catalog_handlers.ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


def _read_csv(path: Path) -> dict[str, Any]:
    """SKUs from a CSV file with a header row of SKU field names; traits separated by "|"."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (UnicodeDecodeError, csv.Error) as exc:
        fail(f"{path}: not a readable CSV file ({exc})")
    records = []
    for row in rows:
        record: dict[str, Any] = {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
        if "traits" in record:
            record["traits"] = [t.strip() for t in re.split(r"[|;]", record["traits"]) if t.strip()]
        records.append(record)
    return {"skus": records}


@catalog.command("import")
def catalog_import(
    file: Path,
    dry_run: Annotated[bool, typer.Option(help="Check everything, write nothing")] = False,
    as_user: AsUser = None,
) -> None:
    """Upsert shops, SKUs and warehouses by code and receive stock, from a JSON file with the keys
    shops, skus, warehouses and stock (or SKUs from a CSV file with a header row). All or nothing:
    if any record is invalid, every problem is listed and nothing is written."""
    document = _read_csv(file) if file.suffix.lower() == ".csv" else read_json(file)
    actor = acting_user(as_user)
    with reported():
        try:
            with common.ordo().transaction() as uow:
                report = catalog_handlers.import_catalog(uow, document=document, actor=actor)
                if dry_run:
                    raise _DryRun(report)
        except _DryRun as done:
            report = done.report
    table = Table("", "created", "updated", "unchanged", title=f"{file.name}{' (dry run, nothing written)' * dry_run}")
    for name, counts in report.counts.items():
        table.add_row(name, *(str(counts[outcome]) for outcome in Outcome))
    console.print(table)
    console.print(f"stock: {report.receipts} receipts, {report.units} units received")
