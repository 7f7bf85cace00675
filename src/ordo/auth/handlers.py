"""Users, API tokens and passwords (Argon2id). One function per command, run in the caller's
transaction; only SHA-256 digests of tokens and Argon2 hashes of passwords are stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from ordo.adapters.db import prepared
from ordo.auth.model import Actor, Role
from ordo.auth.tables import ApiToken, User
from ordo.bootstrap import UnitOfWork
from ordo.channel.tables import Shop
from ordo.inventory.tables import Warehouse
from ordo.kernel.errors import Conflict, NotFound, Problem, Unauthenticated, ValidationFailed

TOKEN_PREFIX = "ordo_"
MIN_PASSWORD_LENGTH = 8
MAX_USERNAME_LENGTH = 64
LOGIN_TTL = timedelta(hours=12)
_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("user", username)
    return user


def _password_problems(password: str | None) -> list[Problem]:
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        return [Problem("password", "too_short", {"path": "password", "min": MIN_PASSWORD_LENGTH})]
    return []


def _scope_problems(session: Session, shops: Sequence[str], warehouses: Sequence[str]) -> list[Problem]:
    """A scope naming a shop or warehouse that does not exist would silently show nothing."""
    known_shops = set(session.scalars(select(Shop.code).where(Shop.code.in_(shops))))
    known_whs = set(session.scalars(select(Warehouse.code).where(Warehouse.code.in_(warehouses))))
    problems = [
        Problem(f"shops[{i}]", "scope_shop_unknown", {"path": f"shops[{i}]", "value": code})
        for i, code in enumerate(shops) if code not in known_shops
    ]
    problems += [
        Problem(f"warehouses[{i}]", "scope_warehouse_unknown", {"path": f"warehouses[{i}]", "value": code})
        for i, code in enumerate(warehouses) if code not in known_whs
    ]
    return problems


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
    """A new active user. Every problem with the input is reported at once; nothing is written then."""
    username = username.strip()
    role_list = sorted(set(roles))
    shop_list, warehouse_list = sorted(set(shops)), sorted(set(warehouses))
    problems = []
    if not username:
        problems.append(Problem("username", "required", {"path": "username"}))
    elif len(username) > MAX_USERNAME_LENGTH:
        problems.append(Problem("username", "too_long", {"path": "username", "max": MAX_USERNAME_LENGTH}))
    if not role_list:
        problems.append(Problem("roles", "required", {"path": "roles"}))
    known = {r.value for r in Role}
    for r in role_list:
        if r not in known:
            problems.append(Problem("roles", "one_of", {"path": "roles", "value": r, "allowed": ", ".join(Role)}))
    problems += _password_problems(password)
    problems += _scope_problems(uow.session, shop_list, warehouse_list)
    if problems:
        raise ValidationFailed(problems)
    if uow.session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict("reference_exists", kind="user", ident=username)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password) if password else None,
        roles=role_list,
        shops=shop_list,
        warehouses=warehouse_list,
        active=True,
        created_at=uow.clock.now(),
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def set_password(uow: UnitOfWork, *, username: str, password: str) -> User:
    problems = _password_problems(password)
    if problems:
        raise ValidationFailed(problems)
    user = _user(uow.session, username)
    user.password_hash = _hasher.hash(password)
    return user


def set_active(uow: UnitOfWork, *, username: str, active: bool) -> User:
    """Disable or enable a user. Disabling also revokes every token, so enabling again does not
    bring old tokens back to life."""
    user = _user(uow.session, username)
    user.active = active
    if not active:
        now = uow.clock.now()
        for token in uow.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = now
    return user


def create_token(uow: UnitOfWork, *, username: str, name: str = "cli", ttl: timedelta | None = None) -> str:
    """A new API token for the user; only its digest is stored, so it is shown this once."""
    user = _user(uow.session, username)
    if not user.active:
        raise Conflict("user_disabled", username=username)
    if ttl is not None and ttl <= timedelta(0):
        raise ValidationFailed([Problem("ttl", "invalid_type", {"path": "ttl", "expected": "a positive duration"})])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = uow.clock.now()
    expires_at = now + ttl if ttl else None
    uow.session.add(ApiToken(user_id=user.id, name=name, digest=digest(token), created_at=now, expires_at=expires_at))
    uow.session.flush()
    return token


def tokens_of(session: Session, username: str) -> list[ApiToken]:
    user = _user(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_tokens(uow: UnitOfWork, *, username: str, token_id: int | None = None, name: str | None = None) -> int:
    """Revoke the user's active tokens (only the one with this id, or those with this name).
    Returns how many were revoked; none matching is "not found"."""
    user = _user(uow.session, username)
    statement = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        statement = statement.where(ApiToken.id == token_id)
    if name is not None:
        statement = statement.where(ApiToken.name == name)
    tokens = list(uow.session.scalars(statement))
    if not tokens:
        which = f"#{token_id}" if token_id is not None else (f'"{name}"' if name is not None else "")
        raise NotFound("active token", f"{which} of {username}".strip())
    now = uow.clock.now()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def revoke_presented(uow: UnitOfWork, token: str) -> None:
    """Log out: revoke the very token the caller presented."""
    row = uow.session.scalars(select(ApiToken).where(ApiToken.digest == digest(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = uow.clock.now()


def login(uow: UnitOfWork, *, username: str, password: str) -> str:
    """A 12-hour token for the right password. Wrong user and wrong password look the same, and
    take the same time (an unknown user is checked against a dummy hash)."""
    user = uow.session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        if stored is None:
            raise VerificationError
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("bad_credentials") from None
    assert user is not None and stored is not None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return create_token(uow, username=username, name="login", ttl=LOGIN_TTL)


def actor_of(user: User | Row[Any]) -> Actor:
    """The actor of a user (its row, or the columns of it ``authenticate`` reads)."""
    return Actor(
        name=user.username,
        roles=frozenset(user.roles),
        user_id=user.id,
        shops=frozenset(user.shops or ()),
        warehouses=frozenset(user.warehouses or ()),
    )


# Every request runs it: built once, and read as plain columns (no ORM objects to set up).
_TOKEN_HOLDER = (
    select(User.id, User.username, User.roles, User.shops, User.warehouses, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.digest == bindparam("digest"), ApiToken.revoked_at.is_(None), User.active.is_(True))
)


def authenticate(connection: Connection, token: str | None, *, now_utc: datetime) -> Actor:
    """The actor behind a token that exists, is not revoked or expired, and whose user is active."""
    if not token:
        raise Unauthenticated("unauthenticated")
    row = prepared.execute(connection, _TOKEN_HOLDER, {"digest": digest(token)}).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now_utc):
        raise Unauthenticated("unauthenticated")
    return actor_of(row)
