"""Typed dependencies: the unit of work, the calling actor, the caller's language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ordo.auth.handlers import authenticate
from ordo.auth.model import Actor
from ordo.bootstrap import Ordo, UnitOfWork
from ordo.entrypoints.api.problems import locale_of

_bearer = HTTPBearer(auto_error=False, description="API token from `ordo tokens create` or POST /api/v1/auth/token")


def get_ordo(request: Request) -> Ordo:
    return request.app.state.ordo  # type: ignore[no-any-return]


def transaction(ordo: Annotated[Ordo, Depends(get_ordo)]) -> Iterator[UnitOfWork]:
    with ordo.transaction() as uow:
        yield uow


def reading(ordo: Annotated[Ordo, Depends(get_ordo)]) -> Iterator[UnitOfWork]:
    with ordo.reading() as uow:
        yield uow


def current_actor(
    ordo: Annotated[Ordo, Depends(get_ordo)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    with ordo.reading() as uow:
        return authenticate(uow.session, credentials.credentials if credentials else None, now_utc=ordo.clock.now())


OrdoApp = Annotated[Ordo, Depends(get_ordo)]
Transaction = Annotated[UnitOfWork, Depends(transaction)]
Reading = Annotated[UnitOfWork, Depends(reading)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
Locale = Annotated[str, Depends(locale_of)]
