"""Log in with a password to get a token; see who you are."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ordo.auth.handlers import login
from ordo.entrypoints.api.deps import CurrentActor, Transaction

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
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


@router.post("/auth/token", response_model=TokenOut)
def issue_token(body: LoginIn, uow: Transaction) -> TokenOut:
    return TokenOut(token=login(uow, username=body.username, password=body.password))


@router.get("/auth/me", response_model=MeOut)
def me(actor: CurrentActor) -> MeOut:
    return MeOut(
        username=actor.name, roles=sorted(actor.roles), shops=sorted(actor.shops), warehouses=sorted(actor.warehouses)
    )
