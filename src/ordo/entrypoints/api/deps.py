"""Typed dependencies: the unit of work, the calling actor, the caller's language."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ordo.auth.handlers import authenticate
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.entrypoints.api.problems import locale_of

_bearer = HTTPBearer(auto_error=False, description="API token from `ordo tokens create` or POST /api/v1/auth/token")


# Dependencies that do not block are ``async``: FastAPI runs a plain ``def`` dependency in its thread
# pool, and each such hop costs a status change about as much as a query.


async def get_ordo(request: Request) -> Ordo:
    return request.app.state.ordo  # type: ignore[no-any-return]


async def locale(request: Request) -> str:
    return locale_of(request)


def transaction(ordo: Annotated[Ordo, Depends(get_ordo)]) -> Iterator[UnitOfWork]:
    with ordo.transaction() as uow:
        yield uow


def reading(ordo: Annotated[Ordo, Depends(get_ordo)]) -> Iterator[UnitOfWork]:
    with ordo.reading() as uow:
        yield uow


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor behind the request's token. On a SQLite file the look-up runs on the event loop
    (a local read that waits for nobody: cheaper than the hop to the thread pool and back);
    elsewhere in the thread pool, as a plain ``def`` dependency would."""
    # The app's Ordo straight from the request, not through ``get_ordo``: every request solves this
    # dependency (the routers ask for it, and so do the routes), and each sub-dependency costs it.
    ordo: Ordo = request.app.state.ordo
    token = credentials.credentials if credentials else None
    engine = ordo.loop_read_engine
    if engine is not None:
        return _authenticated(engine, token, ordo)
    return await run_in_threadpool(_authenticated, ordo.single_read_engine, token, ordo)


def _authenticated(engine: Engine, token: str | None, ordo: Ordo) -> Actor:
    # A connection, not a session: one read, no unit of work around it.
    with engine.connect() as connection:
        return authenticate(connection, token, now_utc=ordo.clock.now())


@dataclass(frozen=True)
class AnswerForm:
    """How the caller wants a write answered: in which language, and whether with the order's
    summary instead of its detail (``minimal``)."""

    locale: str
    minimal: bool


async def answer_form(
    request: Request,
    prefer: Annotated[str | None, Header(description=(
        "RFC 7240. `return=minimal`: answer with the order's summary (as a list row shows it) instead "
        "of the full detail; the answer then carries `Preference-Applied: return=minimal`."))] = None,
) -> AnswerForm:
    """The caller's language and whether they asked for the short answer (``Prefer: return=minimal``,
    RFC 7240: comma-separated preferences, names case-insensitive, values possibly quoted). One
    dependency for both: each one more costs every request that solves it."""
    minimal = False
    for preference in (prefer or "").split(","):
        name, _, value = preference.split(";", 1)[0].partition("=")
        if name.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            minimal = True
            break
    return AnswerForm(locale_of(request), minimal)


OrdoApp = Annotated[Ordo, Depends(get_ordo)]
# A write's transaction ends with the dependency's function scope, so it is committed before the
# answer is sent; the default request scope would commit after it, and answer a failed commit as done.
Transaction = Annotated[UnitOfWork, Depends(transaction, scope="function")]
Reading = Annotated[UnitOfWork, Depends(reading)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
Locale = Annotated[str, Depends(locale)]
Answering = Annotated[AnswerForm, Depends(answer_form)]
