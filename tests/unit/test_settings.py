"""Settings from the environment and policy overrides from a TOML file."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ordo.policy import Policy, Trait
from ordo.settings import Settings


def test_default_database_is_a_sqlite_file_under_var(monkeypatch):
    monkeypatch.delenv("ORDO_DATABASE_URL", raising=False)
    assert Settings().resolved_database_url() == "sqlite:///var/ordo.db"


def test_environment_selects_postgresql_host_and_port(monkeypatch):
    monkeypatch.setenv("ORDO_DATABASE_URL", "postgresql://ordo@db.internal/ordo")
    monkeypatch.setenv("ORDO_PORT", "9000")
    settings = Settings()
    assert (settings.resolved_database_url(), settings.port) == ("postgresql://ordo@db.internal/ordo", 9000)


def test_policy_file_overrides_single_values_and_keeps_the_rest(tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        """
[review]
auto_allocate = false
second_review_amount = "8000"

[intake.service_types.domestic_express]
forbidden_traits = ["bulky", "perishable", "liquid"]

[time_limits.picking]
limit = "PT3H"
""",
        encoding="utf-8",
    )
    policy = Settings(policy_file=policy_file).load_policy()
    defaults = Policy()
    assert policy.review.auto_allocate is False
    assert policy.review.second_review_amount == Decimal("8000")
    assert policy.review.auto_confirm_paid is True
    assert policy.intake.service_types["domestic_express"].forbidden_traits == (
        Trait.BULKY, Trait.PERISHABLE, Trait.LIQUID,
    )
    assert policy.intake.service_types["domestic_express"].scope == "domestic"
    assert policy.intake.service_types["cold_chain"] == defaults.intake.service_types["cold_chain"]
    assert policy.time_limits["picking"].limit == timedelta(hours=3)
    assert policy.time_limits["picking"].source == "000"
    assert policy.time_limits["ship_fresh"].limit == timedelta(hours=12)
    assert len(policy.time_limits) == len(defaults.time_limits)


def test_policy_defaults_carry_the_numbers_of_the_policies():
    policy = Policy()
    assert policy.risk.duplicate_window == timedelta(minutes=30)
    assert policy.inventory.reorder_point == 50
    assert policy.inventory.apology_coupon == Decimal("5")
    assert policy.time_limits["ship_normal"].limit == timedelta(hours=24)
    assert policy.time_limits["ship_promotion"].limit == timedelta(hours=48)
    assert policy.time_limits["refund_original_route"].calendar == "working_days"
    assert policy.progress_checks == ("09:00", "15:00")
