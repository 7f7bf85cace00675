"""Users, API tokens and passwords (Argon2)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordo.auth.model import Actor, Role
from ordo.auth.tables import ApiToken, User
from ordo.bootstrap import UnitOfWork
from ordo.kernel.errors import Conflict, NotFound, Problem, Unauthenticated, ValidationFailed

TOKEN_PREFIX = "ordo_"
_hasher = PasswordHasher()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    uow: UnitOfWork,
    *,
    username: str,
    roles: Iterable[str],
    display_name: str | None = None,
    password: str | None = None,
    shops: Iterable[str] = (),
    warehouses: Iterable[str] = (),
) -> User:
    role_list = sorted(set(roles))
    unknown = [r for r in role_list if r not in Role.__members__.values()]
    problems = []
    if not username.strip():
        problems.append(Problem("username", "required", {"path": "username"}))
    if not role_list:
        problems.append(Problem("roles", "required", {"path": "roles"}))
    for r in unknown:
        problems.append(Problem("roles", "one_of", {"path": "roles", "value": r, "allowed": ", ".join(Role)}))
    if problems:
        raise ValidationFailed(problems)
    if uow.session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict("reference_exists", kind="user", ident=username)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password) if password else None,
        roles=role_list,
        shops=sorted(set(shops)),
        warehouses=sorted(set(warehouses)),
        active=True,
        created_at=uow.clock.now(),
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def create_token(uow: UnitOfWork, *, username: str, name: str = "cli", ttl: timedelta | None = None) -> str:
    """A new API token for the user; only its digest is stored, so it is shown this once."""
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("user", username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = uow.clock.now()
    uow.session.add(
        ApiToken(user_id=user.id, name=name, digest=digest(token), created_at=now, expires_at=now + ttl if ttl else None)
    )
    return token


def login(uow: UnitOfWork, *, username: str, password: str) -> str:
    user = uow.session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    try:
        if user is None or user.password_hash is None:
            raise VerificationError
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("bad_credentials") from None
    return create_token(uow, username=username, name="login", ttl=timedelta(hours=12))


def actor_of(user: User) -> Actor:
    return Actor(
        name=user.username,
        roles=frozenset(user.roles),
        user_id=user.id,
        shops=frozenset(user.shops or ()),
        warehouses=frozenset(user.warehouses or ()),
    )


def authenticate(session: Session, token: str | None, *, now_utc: object) -> Actor:
    if not token:
        raise Unauthenticated("unauthenticated")
    row = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).first()
    if row is None:
        raise Unauthenticated("unauthenticated")
    user, api_token = row
    if api_token.expires_at is not None and api_token.expires_at <= now_utc:  # type: ignore[operator]
        raise Unauthenticated("unauthenticated")
    return actor_of(user)
