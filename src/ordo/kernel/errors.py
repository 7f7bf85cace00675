"""Domain errors. Each carries a machine code and a message key; the entrypoints map them to
HTTP problem+json or CLI exit codes in one place and translate the message to the caller's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "validation_failed"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    ILLEGAL_TRANSITION = "illegal_transition"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field: ``path`` like ``lines[2].quantity``, a message key and its
    parameters."""

    path: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


class OrdoError(Exception):
    code: ErrorCode = ErrorCode.CONFLICT
    status: int = 409

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class ValidationFailed(OrdoError):
    code = ErrorCode.VALIDATION_FAILED
    status = 422

    def __init__(self, problems: Iterable[Problem]) -> None:
        super().__init__("validation_failed")
        self.problems = list(problems)


class NotFound(OrdoError):
    code = ErrorCode.NOT_FOUND
    status = 404

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__("not_found", kind=kind, ident=str(ident))


class Conflict(OrdoError):
    code = ErrorCode.CONFLICT
    status = 409


class IdempotencyConflict(OrdoError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    status = 409


class IllegalTransition(OrdoError):
    code = ErrorCode.ILLEGAL_TRANSITION
    status = 409

    def __init__(self, entity: str, state: str, action: str, allowed: Iterable[str]) -> None:
        allowed_list = sorted(allowed)
        super().__init__(
            "illegal_transition",
            entity=entity,
            state=state,
            action=action,
            allowed=", ".join(allowed_list) or "-",
        )
        self.state = state
        self.action = action
        self.allowed = allowed_list


class Unauthenticated(OrdoError):
    code = ErrorCode.UNAUTHENTICATED
    status = 401


class Forbidden(OrdoError):
    code = ErrorCode.FORBIDDEN
    status = 403


class RateLimited(OrdoError):
    """Too many requests from one client; ``retry_after`` seconds until the next is allowed."""

    code = ErrorCode.RATE_LIMITED
    status = 429


class Unavailable(OrdoError):
    """The server cannot do this until an operator fixes its configuration (a missing font file)."""

    code = ErrorCode.UNAVAILABLE
    status = 503
