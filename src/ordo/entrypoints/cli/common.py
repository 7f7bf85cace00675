"""What every CLI command shares: the application, the acting user, and error reporting.

Domain errors print a translated message; bad input exits with 2, refusals with 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy import select

from ordo.auth.handlers import actor_of
from ordo.auth.model import Actor
from ordo.auth.tables import User
from ordo.bootstrap import Ordo
from ordo.kernel.checks import problems_of
from ordo.kernel.errors import OrdoError, ValidationFailed
from ordo.kernel.i18n import negotiate, translate

# Piped output (scripts, CI logs) is not cut to 80 columns, and messages are never wrapped mid-line.
_PIPE_WIDTH = None if os.isatty(1) else 200
console = Console(width=_PIPE_WIDTH, soft_wrap=True)
errors = Console(stderr=True, width=_PIPE_WIDTH, soft_wrap=True)

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


@cache
def ordo() -> Ordo:
    return Ordo()


def locale() -> str:
    return negotiate(os.environ.get("ORDO_LOCALE") or os.environ.get("LANG", "").split(".")[0].replace("_", "-"),
                     ordo().settings.default_locale)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Turn domain errors into a message and an exit code."""
    try:
        yield
    except ValidationFailed as exc:
        lang = locale()
        errors.print(f"[red]error:[/red] {translate(exc.key, lang)}", highlight=False)
        for p in exc.problems:
            message = translate(p.key, lang, dict(p.params))
            # Most messages already name their field; don't say it twice.
            errors.print(f"  {message}" if message.startswith(p.path) else f"  {p.path}: {message}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OrdoError as exc:
        fail(translate(exc.key, locale(), exc.params), EXIT_REFUSED if exc.status != 422 else EXIT_BAD_INPUT)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], values: Any) -> M:
    """Input as a model; pydantic's complaints become field problems (reported like any other)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed(problems_of(exc)) from None


def acting_user(username: str | None) -> Actor:
    """The CLI runs on the server with the operator's rights: as the named user, or as the system."""
    if username is None:
        return Actor.system()
    with ordo().reading() as uow:
        user = uow.session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
        if user is None:
            fail(translate("not_found", locale(), {"kind": "user", "ident": username}))
        return actor_of(user)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not valid JSON ({exc})")
