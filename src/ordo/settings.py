"""Typed settings from ``ORDO_*`` environment variables and an optional TOML policy file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordo.policy import Policy

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDO_", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty means var/ordo.db")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # With several workers uvicorn's supervisor pings each one and kills a worker that has not
    # answered within this many seconds; its own default (5) killed workers still starting up on a
    # loaded machine.
    timeout_worker_healthcheck: int = Field(default=30, gt=0)
    var_dir: Path = DEFAULT_VAR_DIR
    policy_file: Path | None = None
    default_locale: str = "en"
    sql_echo: bool = False
    # How many copies of reference rows (SKUs, shops, warehouses, rule sets) a process keeps between
    # two writes to those tables (adapters.db.reference); 0 reads them from the database every time.
    reference_cache_size: int = Field(default=20_000, ge=0)
    # Where rate-limit counters live: per process by default; redis://host:6379 shares them between
    # the workers of `ordo serve` (any storage URI of the `limits` package).
    rate_limit_storage: str = "memory://"
    # The TrueType font (.ttf, or a .ttc collection with its index) PDF documents are set in; it must
    # have Chinese glyphs. Empty: WenQuanYi Micro Hei from the paperang-p2-fonts-cjk package.
    pdf_font: Path | None = None
    pdf_font_index: int = 0
    # How many times in all a command is run when the database breaks its transaction off to resolve
    # a deadlock or a serialization conflict (PostgreSQL SQLSTATE 40P01 / 40001; ``Ordo.run``).
    transaction_attempts: int = Field(default=3, ge=1)
    # SQLite files: seconds between the WAL checkpoints a thread of each process makes after commits
    # (adapters.db.engine._Checkpointer), so that no commit copies the WAL back itself while other
    # writers wait; 0 leaves the checkpoints to SQLite, inside the commits.
    sqlite_checkpoint_every_s: float = Field(default=0.25, ge=0)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'ordo.db').as_posix()}"

    def load_policy(self) -> Policy:
        if self.policy_file is None:
            return Policy()
        with self.policy_file.open("rb") as fh:
            overrides = tomllib.load(fh)
        return Policy.model_validate(merge(Policy().model_dump(), overrides))


def merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides on top of the defaults, table by table, so a file can change one time limit or one
    service type without restating the others."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
