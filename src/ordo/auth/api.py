"""Log in with a password to get a token, log out, see who you are; user administration (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select

from ordo.auth.handlers import add_user, login, revoke_presented, set_active
from ordo.auth.model import Actor, Permission, Role
from ordo.auth.tables import User
from ordo.entrypoints.api.deps import CurrentActor, Reading, Transaction
from ordo.kernel.checks import In

router = APIRouter(tags=["auth"])
_presented = HTTPBearer(auto_error=False)


class LoginIn(In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"


class MeOut(BaseModel):
    username: str
    roles: list[str]
    shops: list[str]
    warehouses: list[str]


class UserIn(In):
    username: str = Field(min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    roles: list[Role] = Field(min_length=1)
    password: str | None = Field(default=None, max_length=200, description="For POST /auth/token")
    shops: list[str] = Field(default_factory=list, description="Only these shops (empty: all)")
    warehouses: list[str] = Field(default_factory=list, description="Only these warehouses (empty: all)")


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    shops: list[str]
    warehouses: list[str]
    active: bool
    created_at: datetime


def _user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username, display_name=user.display_name, roles=list(user.roles), shops=list(user.shops or ()),
        warehouses=list(user.warehouses or ()), active=user.active, created_at=user.created_at,
    )


def user_admin(actor: CurrentActor) -> Actor:
    actor.require(Permission.USER_ADMIN)
    return actor


UserAdmin = Annotated[Actor, Depends(user_admin)]


@router.post("/auth/token", response_model=TokenOut, responses={401: {"description": "Wrong user name or password"}})
def issue_token(body: LoginIn, uow: Transaction) -> TokenOut:
    return TokenOut(token=login(uow, username=body.username, password=body.password))


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
def log_out(
    actor: CurrentActor,
    uow: Transaction,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_presented)],
) -> Response:
    """Revoke the token of this request."""
    if credentials is not None:
        revoke_presented(uow, credentials.credentials)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=MeOut)
def me(actor: CurrentActor) -> MeOut:
    return MeOut(
        username=actor.name, roles=sorted(actor.roles), shops=sorted(actor.shops), warehouses=sorted(actor.warehouses)
    )


@router.get("/users", response_model=list[UserOut])
def list_users(actor: UserAdmin, uow: Reading) -> list[UserOut]:
    return [_user_out(u) for u in uow.session.scalars(select(User).order_by(User.username))]


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The user name is taken"}, 422: {"description": "Invalid fields"}},
)
def create_user(body: UserIn, actor: UserAdmin, uow: Transaction) -> UserOut:
    user = add_user(
        uow, username=body.username, roles=[r.value for r in body.roles], display_name=body.display_name,
        password=body.password, shops=body.shops, warehouses=body.warehouses,
    )
    return _user_out(user)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(username: str, actor: UserAdmin, uow: Transaction) -> UserOut:
    """Disable a user and revoke all their tokens."""
    return _user_out(set_active(uow, username=username, active=False))


@router.post("/users/{username}/enable", response_model=UserOut)
def enable_user(username: str, actor: UserAdmin, uow: Transaction) -> UserOut:
    return _user_out(set_active(uow, username=username, active=True))
