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
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import select

from ordo.auth.handlers import actor_of
from ordo.auth.model import Actor
from ordo.auth.tables import User
from ordo.bootstrap import Ordo
from ordo.kernel.errors import OrdoError, ValidationFailed
from ordo.kernel.i18n import negotiate, translate

console = Console()
errors = Console(stderr=True)

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
            errors.print(f"  {p.path}: {translate(p.key, lang, dict(p.params))}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OrdoError as exc:
        fail(translate(exc.key, locale(), exc.params), EXIT_REFUSED if exc.status != 422 else EXIT_BAD_INPUT)


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
