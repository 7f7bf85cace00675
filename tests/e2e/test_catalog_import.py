"""`ordo catalog import FILE` and the other reference-data commands, from the command line.

The import is one transaction: a file with any invalid record lists every problem under its place
in the file (``skus[3].price``), exits with 2 and writes nothing.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ordo.catalog.tables import Sku
from ordo.entrypoints.cli import common
from ordo.entrypoints.cli.main import app
from ordo.inventory.tables import Stock, Warehouse
from tests.factories import seed, user_token

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.json"
ORDO = Path(sys.executable).parent / "ordo"
CATALOG = json.loads(EXAMPLE.read_text(encoding="utf-8"))
TABLES = ("shops", "skus", "warehouses", "stock", "stock_movements", "events")


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(ordo, monkeypatch):
    """Run `ordo …` in-process against the test database, in English, on a wide console."""
    monkeypatch.setattr(common, "ordo", lambda: ordo)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("ORDO_LOCALE", "en")
    runner = CliRunner()

    def run(*args: object):
        return runner.invoke(app, [str(a) for a in args])

    return run


def write(tmp_path: Path, document: object, name: str = "catalog.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def counts(database) -> dict[str, int]:
    rows = database.row_counts()
    return {name: rows[name] for name in TABLES}


def on_hand(ordo) -> dict[tuple[str, str], int]:
    with ordo.reading() as uow:
        rows = uow.session.execute(
            select(Warehouse.code, Sku.code, Stock.on_hand)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id).join(Sku, Sku.id == Stock.sku_id)
        ).all()
    return {(w, s): n for w, s, n in rows}


def problem_lines(stderr: str) -> list[str]:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    assert lines[0] == "error: The request has invalid fields."
    return lines[1:]


def test_the_example_catalog_imports_with_the_real_command(ordo, database):
    env = {**os.environ, "ORDO_DATABASE_URL": database.url, "COLUMNS": "200"}
    done = subprocess.run([str(ORDO), "catalog", "import", str(EXAMPLE)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = flat(done.stdout)
    for row in ("│ shops │ 3 │ 0 │ 0 │", "│ skus │ 5 │ 0 │ 0 │", "│ warehouses │ 3 │ 0 │ 0 │"):
        assert row in out
    assert "stock: 6 receipts, 1090 units received" in out
    assert counts(database) == {"shops": 3, "skus": 5, "warehouses": 3, "stock": 6, "stock_movements": 6,
                                "events": 11}
    assert on_hand(ordo)[("WH-LA", "TEA-001")] == 120


def test_importing_again_upserts_by_code_and_receives_the_stock_again(cli, ordo, database, tmp_path):
    assert cli("catalog", "import", EXAMPLE).exit_code == 0
    again = cli("catalog", "import", EXAMPLE)
    assert again.exit_code == 0, again.output
    for row in ("│ shops │ 0 │ 0 │ 3 │", "│ skus │ 0 │ 0 │ 5 │", "│ warehouses │ 0 │ 0 │ 3 │"):
        assert row in flat(again.stdout)
    assert on_hand(ordo)[("WH-SH", "TEA-001")] == 1000

    changed = {"skus": [{"code": "TEA-001", "price": "26.00"}],
               "shops": [{"code": "jd", "name": "JD", "channel": "marketplace"}]}
    result = cli("catalog", "import", write(tmp_path, changed))
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "│ shops │ 1 │ 0 │ 0 │" in out
    assert "│ skus │ 0 │ 1 │ 0 │" in out
    assert "stock: 0 receipts, 0 units received" in out
    with ordo.reading() as uow:
        tea = uow.session.scalars(select(Sku).where(Sku.code == "TEA-001")).one()
        assert (str(tea.price), tea.name, tea.hs_code) == ("26.00", "西湖龙井 250g", "0902300000")
    assert counts(database) == {"shops": 4, "skus": 5, "warehouses": 3, "stock": 6, "stock_movements": 12,
                                "events": 13}


def test_one_bad_record_lists_every_problem_and_writes_nothing(cli, database, tmp_path):
    document = copy.deepcopy(CATALOG)
    document["skus"][3]["price"] = "59.001"
    document["skus"][1]["traits"] = ["sharp"]
    document["skus"][4]["weight_g"] = "heavy"
    document["skus"][4]["origin_country"] = "XX"
    document["skus"].append(dict(document["skus"][0]))
    document["warehouses"][2]["country"] = "XX"
    document["stock"][0]["quantity"] = 0
    document["stock"][5]["sku"] = "TEA-999"
    document["stock"].append({"warehouse": "WH-LA", "sku": "PHONE-006", "quantity": 1})  # PHONE-006 refused above
    result = cli("catalog", "import", write(tmp_path, document))
    assert result.exit_code == 2, result.output
    lines = problem_lines(result.stderr)
    expected = [
        'skus[1].traits[0]: "sharp" is not one of fragile, liquid, perishable, electronics, bulky, prohibited.',
        "skus[3].price: CNY amounts have at most 2 decimal places, got 59.001.",
        "skus[4].weight_g must be a whole number.",
        'skus[4].origin_country: "XX" is not an ISO 3166 country code.',
        'skus[5].code: "TEA-001" already appears at skus[0].',
        'warehouses[2].country: "XX" is not an ISO 3166 country code.',
        "stock[0].quantity must be between 1 and 1000000, got 0.",
        'stock[5].sku: unknown SKU "TEA-999".',
    ]
    assert len(lines) == len(expected), lines
    for line, message in zip(lines, expected, strict=True):
        assert line.endswith(message), (line, message)
    assert counts(database) == dict.fromkeys(TABLES, 0)


def test_a_refused_import_leaves_existing_records_as_they_were(cli, ordo, database, tmp_path):
    seed(ordo)
    before = database.row_counts()
    document = {"skus": [{"code": "TEA-001", "name": "Renamed"}, {"code": "NEW-1", "name": "New", "category": "x"}],
                "colour": "red"}
    result = cli("catalog", "import", write(tmp_path, document))
    assert result.exit_code == 2
    lines = problem_lines(result.stderr)
    assert lines == ["colour is not a known field.", "skus[1].price is required."]
    assert database.row_counts() == before
    with ordo.reading() as uow:
        assert uow.session.scalars(select(Sku.name).where(Sku.code == "TEA-001")).one() == "Tea-001"


def test_dry_run_checks_everything_and_writes_nothing(cli, database):
    result = cli("catalog", "import", EXAMPLE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "catalog.json (dry run, nothing written)" in result.stdout
    assert "│ skus │ 5 │ 0 │ 0 │" in flat(result.stdout)
    assert counts(database) == dict.fromkeys(TABLES, 0)


def test_skus_from_a_csv_file(cli, ordo, database, tmp_path):
    path = tmp_path / "skus.csv"
    path.write_text(
        "code,name,category,price,currency,traits,weight_g\n"
        "CUP-1,Glass cup,kitchen,12.50,CNY,fragile|liquid,300\n"
        "CUP-2,Paper cup,kitchen,0.80,,,\n",
        encoding="utf-8",
    )
    result = cli("catalog", "import", path)
    assert result.exit_code == 0, result.output
    assert "│ skus │ 2 │ 0 │ 0 │" in flat(result.stdout)
    with ordo.reading() as uow:
        rows = uow.session.execute(select(Sku.code, Sku.price, Sku.currency, Sku.traits, Sku.weight_g)
                                   .order_by(Sku.code)).all()
    assert [(c, str(p), cur, t, w) for c, p, cur, t, w in rows] == [
        ("CUP-1", "12.50", "CNY", ["fragile", "liquid"], 300), ("CUP-2", "0.80", "CNY", [], 0),
    ]
    path.write_text("code,name,category,price\nCUP-3,Mug,kitchen,cheap\n", encoding="utf-8")
    refused = cli("catalog", "import", path)
    assert refused.exit_code == 2
    assert problem_lines(refused.stderr)[-1].endswith("skus[0].price must be a decimal number.")
    assert counts(database)["skus"] == 2


def test_import_needs_the_reference_write_permission(cli, ordo, database):
    user_token(ordo, "fiona", ["finance"])
    result = cli("catalog", "import", EXAMPLE, "--as", "fiona")
    assert result.exit_code == 1
    assert flat(result.stderr) == 'error: Your roles (finance) may not "reference.write".'
    assert counts(database) == dict.fromkeys(TABLES, 0)


def test_unreadable_files_exit_with_2(cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cli("catalog", "import", broken).exit_code == 2
    assert cli("catalog", "import", tmp_path / "missing.json").exit_code == 2
    not_an_object = cli("catalog", "import", write(tmp_path, [1, 2]))
    assert not_an_object.exit_code == 2
    assert problem_lines(not_an_object.stderr)[0].endswith("body must be an object.")


# --- the other reference-data commands ------------------------------------------------------------------


def test_shop_commands(cli):
    assert cli("shops", "add", "jd", "--name", "JD POP", "--channel", "marketplace").exit_code == 0
    duplicate = cli("shops", "add", "jd", "--name", "JD", "--channel", "web")
    assert (duplicate.exit_code, flat(duplicate.stderr)) == (1, 'error: shop "jd" already exists.')
    bad = cli("shops", "add", "j d", "--name", "X", "--channel", "fax")
    assert bad.exit_code == 2
    assert [line.split(":")[0] for line in problem_lines(bad.stderr)] == ["code", "channel"]
    assert cli("shops", "update", "jd", "--name", "JD flagship").exit_code == 0
    assert "│ jd │ JD flagship │ marketplace │ yes │" in flat(cli("shops", "list").stdout)
    assert cli("shops", "delete", "jd").exit_code == 0
    assert "jd" not in cli("shops", "list").stdout
    assert "│ jd │ JD flagship │ marketplace │ no │" in flat(cli("shops", "list", "--all").stdout)
    missing = cli("shops", "show", "nope")
    assert (missing.exit_code, flat(missing.stderr)) == (1, "error: shop nope not found.")


def test_sku_warehouse_and_stock_commands(cli, ordo):
    added = cli("skus", "add", "TEA-100", "--name", "Oolong", "--category", "tea", "--price", "35.5",
                "--trait", "fragile", "--weight-g", "120")
    assert added.exit_code == 0, added.output
    bad = cli("skus", "add", "TEA-101", "--name", "Oolong", "--category", "tea", "--price", "cheap")
    assert bad.exit_code == 2
    assert problem_lines(bad.stderr)[0].endswith("price must be a decimal number.")
    assert cli("skus", "update", "TEA-100", "--price", "36").exit_code == 0
    shown = flat(cli("skus", "show", "TEA-100").stdout)
    assert "│ price │ 36.00 │" in shown
    assert "│ traits │ fragile │" in shown

    assert cli("warehouses", "add", "WH-GZ", "--name", "广州仓", "--kind", "domestic", "--country", "CN",
               "--region", "广东", "--capability", "cold_chain").exit_code == 0
    received = cli("stock", "receive", "WH-GZ", "TEA-100", "25", "--reason", "opening stock")
    assert received.exit_code == 0, received.output
    assert "│ WH-GZ │ TEA-100 │ 25 │ 0 │ 25 │" in flat(received.stdout)
    assert "│ WH-GZ │ TEA-100 │ 25 │ 0 │ 25 │" in flat(cli("stock", "show", "--sku", "TEA-100").stdout)
    refused = cli("stock", "receive", "WH-GZ", "TEA-100", "0")
    assert refused.exit_code == 2
    assert problem_lines(refused.stderr)[0].endswith("quantity must be between 1 and 1000000, got 0.")
    assert on_hand(ordo) == {("WH-GZ", "TEA-100"): 25}


def test_customer_commands(cli):
    added = cli("customers", "add", "--name", "李娜", "--phone", "13912345678", "--vip-level", "2")
    assert added.exit_code == 0, added.output
    customer_id = added.stdout.split()[1]
    assert cli("customers", "update", customer_id, "--vip-level", "5").exit_code == 0
    assert f"│ {customer_id} │ 李娜 │ +8613912345678 │ │ │ 5 │" in flat(cli("customers", "list").stdout)
    bad = cli("customers", "update", customer_id, "--vip-level", "10")
    assert bad.exit_code == 2
    lines = problem_lines(bad.stderr)
    assert len(lines) == 1
    assert lines[0].endswith("vip_level must be between 0 and 9, got 10.")
