"""Typed settings from ``ORDO_*`` environment variables and an optional TOML policy file."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
    var_dir: Path = DEFAULT_VAR_DIR
    policy_file: Path | None = None
    default_locale: str = "en"
    sql_echo: bool = False

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'ordo.db').as_posix()}"

    def load_policy(self) -> Policy:
        if self.policy_file is None:
            return Policy()
        with self.policy_file.open("rb") as fh:
            return Policy.model_validate(tomllib.load(fh))
