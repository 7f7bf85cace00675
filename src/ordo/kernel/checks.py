"""Input checks shared by every package that takes records from outside (shops, SKUs,
warehouses, customers, imports): a ``Checks`` collector that reports every problem of a record at
once under its field path, and pydantic's complaints turned into the same ``Problem`` values.

Input models are lenient on purpose: pydantic only checks types and lengths, and ``Checks``
reports every other problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError, ValidationError

from ordo.kernel.errors import Problem, ValidationFailed
from ordo.kernel.money import has_excess_precision, minor_units, quantize

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
IDENTIFIER = re.compile(r"[a-z0-9_]+")
MAX_PAGE = 200


class Outcome(StrEnum):
    """What an upsert did (the catalog import counts them)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class Checks:
    """Collects every problem with one record; each helper returns the normalised value or None."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, key: str, **params: Any) -> None:
        self.problems.append(Problem(path, key, {"path": path, **params}))

    def raise_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)

    def text(self, values: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
        value = values.get(name)
        if value is None or not str(value).strip():
            if required:
                self.add(name, "required")
            return None
        return str(value).strip()

    def code(self, values: Mapping[str, Any], name: str = "code") -> str | None:
        value = self.text(values, name)
        if value is not None and not CODE.fullmatch(value):
            self.add(name, "code_invalid", value=value)
            return None
        return value

    def whole(self, values: Mapping[str, Any], name: str, *, low: int, high: int, default: int) -> int:
        value = values.get(name)
        if value is None:
            return default
        if not low <= value <= high:
            self.add(name, "out_of_range", min=low, max=high, value=value)
        return int(value)

    def one_of(
        self, values: Mapping[str, Any], name: str, allowed: Iterable[str], *, default: str | None = None,
        normal: Callable[[str], str] = str.lower,
    ) -> str | None:
        value = self.text(values, name, required=default is None) or default
        if value is None:
            return None
        options = list(allowed)
        if normal(value) not in options:
            self.add(name, "one_of", value=value, allowed=", ".join(options))
            return None
        return normal(value)

    def members(self, values: Mapping[str, Any], name: str, allowed: Iterable[str]) -> list[str]:
        """A set of values from a fixed list, each checked under ``name[i]``; sorted, no repeats."""
        options = list(allowed)
        accepted: set[str] = set()
        for i, item in enumerate(values.get(name) or ()):
            if item.strip().lower() in options:
                accepted.add(item.strip().lower())
            else:
                self.add(f"{name}[{i}]", "one_of", value=item, allowed=", ".join(options))
        return sorted(accepted)

    def identifiers(self, values: Mapping[str, Any], name: str) -> list[str]:
        accepted: set[str] = set()
        for i, item in enumerate(values.get(name) or ()):
            if IDENTIFIER.fullmatch(item.strip()):
                accepted.add(item.strip())
            else:
                self.add(f"{name}[{i}]", "identifier_invalid", value=item)
        return sorted(accepted)

    def country(self, values: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
        return self._country(name, self.text(values, name, required=required))

    def countries(self, values: Mapping[str, Any], name: str) -> list[str]:
        found = (self._country(f"{name}[{i}]", item) for i, item in enumerate(values.get(name) or ()))
        return sorted({c for c in found if c is not None})

    def _country(self, path: str, value: str | None) -> str | None:
        if value is None:
            return None
        if value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
            self.add(path, "country_unknown", value=value)
            return None
        return value.strip().upper()

    def amount(
        self, values: Mapping[str, Any], name: str, currency: str | None, *, required: bool = True
    ) -> Decimal | None:
        value = values.get(name)
        if value is None:
            if required:
                self.add(name, "required")
            return None
        if value < 0:
            self.add(name, "not_negative", value=value)
            return None
        if currency is None:
            return None
        if has_excess_precision(value, currency):
            self.add(name, "amount_precision", currency=currency, digits=minor_units(currency), value=value)
            return None
        return quantize(Decimal(value), currency)

    def flag(self, values: Mapping[str, Any], name: str, *, default: bool) -> bool:
        value = values.get(name)
        return default if value is None else bool(value)


# pydantic error types → what the value must be (the same wording as the HTTP layer's)
_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "decimal_type": "a decimal number",
    "decimal_parsing": "a decimal number",
    "decimal_max_digits": "a decimal number of at most 18 digits",
    "finite_number": "a finite number",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "a list",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "datetime_type": "an ISO 8601 date-time",
    "datetime_parsing": "an ISO 8601 date-time",
    "datetime_from_date_parsing": "an ISO 8601 date-time",
    "json_invalid": "valid JSON",
}


def join_path(prefix: str, loc: Iterable[Any]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_LOCATIONS = ("body", "query", "path", "header")


def problems_of(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """Pydantic's complaints about one record as our problems, under ``prefix`` (e.g. ``skus[3]``)."""
    return problems_from_errors(exc.errors(), prefix)


def problems_from_errors(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> list[Problem]:
    """The same for the error dicts pydantic and FastAPI hand out (HTTP locations dropped)."""
    problems = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in _LOCATIONS]
        path = join_path(prefix, loc) or "body"
        params: dict[str, Any] = {"path": path}
        kind = error["type"]
        if kind == "missing":
            key = "required"
        elif kind == "extra_forbidden":
            key = "unknown_field"
        elif kind == "nul_character":
            key = "nul_character"
        elif kind == "string_too_long":
            key, params["max"] = "too_long", (error.get("ctx") or {}).get("max_length")
        elif kind in ("enum", "literal_error"):
            key = "one_of"
            params |= {"value": error.get("input"), "allowed": (error.get("ctx") or {}).get("expected", "")}
        else:
            key, params["expected"] = "invalid_type", _EXPECTED.get(kind, error.get("msg", ""))
        problems.append(Problem(path, key, params))
    return problems


def under(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """The same problems, with their paths below ``prefix``."""
    moved = []
    for p in problems:
        path = f"{prefix}.{p.path}" if p.path else prefix
        moved.append(Problem(path, p.key, {**p.params, "path": path}))
    return moved


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character")
    if isinstance(value, list | tuple):
        for item in value:
            _without_nul(item)
    return value


class In(BaseModel):
    """Base of every input model: unknown fields refused, text stripped, NUL characters refused
    (PostgreSQL cannot store them, and no legitimate text carries one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _without_nul(value)
