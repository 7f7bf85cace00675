"""Every error leaves as application/problem+json, with a machine code, a message in the
caller's language and per-field details."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordo.kernel.errors import OrdoError, ValidationFailed
from ordo.kernel.i18n import negotiate, translate

log = logging.getLogger("ordo.api")

PROBLEM = "application/problem+json"

# pydantic error types → (message key, expected-type wording)
_PYDANTIC: dict[str, tuple[str, str]] = {
    "missing": ("required", ""),
    "string_type": ("invalid_type", "a string"),
    "int_type": ("invalid_type", "a whole number"),
    "int_parsing": ("invalid_type", "a whole number"),
    "int_from_float": ("invalid_type", "a whole number"),
    "decimal_type": ("invalid_type", "a decimal number"),
    "decimal_parsing": ("invalid_type", "a decimal number"),
    "decimal_max_digits": ("invalid_type", "a decimal number of at most 18 digits"),
    "finite_number": ("invalid_type", "a finite number"),
    "model_type": ("invalid_type", "an object"),
    "model_attributes_type": ("invalid_type", "an object"),
    "dict_type": ("invalid_type", "an object"),
    "list_type": ("invalid_type", "a list"),
    "bool_type": ("invalid_type", "true or false"),
    "bool_parsing": ("invalid_type", "true or false"),
    "datetime_type": ("invalid_type", "an ISO 8601 date-time"),
    "datetime_parsing": ("invalid_type", "an ISO 8601 date-time"),
    "datetime_from_date_parsing": ("invalid_type", "an ISO 8601 date-time"),
    "json_invalid": ("invalid_type", "valid JSON"),
    "extra_forbidden": ("unknown_field", ""),
}


def locale_of(request: Request) -> str:
    default = getattr(request.app.state, "default_locale", "en")
    return negotiate(request.headers.get("accept-language"), default)


def field_path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def problem(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": message, "status": status, "code": code,
                            "detail": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field_errors(items: list[tuple[str, str, dict[str, Any]]], locale: str) -> list[dict[str, str]]:
    return [{"field": path, "code": key, "message": translate(key, locale, params)} for path, key, params in items]


def install(app: FastAPI) -> None:
    @app.exception_handler(ValidationFailed)
    async def _validation(request: Request, exc: ValidationFailed) -> JSONResponse:
        locale = locale_of(request)
        items = [(p.path, p.key, dict(p.params)) for p in exc.problems]
        return problem(422, exc.code, translate(exc.key, locale), _field_errors(items, locale))

    @app.exception_handler(OrdoError)
    async def _domain(request: Request, exc: OrdoError) -> JSONResponse:
        return problem(exc.status, exc.code, translate(exc.key, locale_of(request), exc.params))

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        locale = locale_of(request)
        items = []
        for error in exc.errors():
            path = field_path(tuple(error.get("loc", ())))
            key, expected = _PYDANTIC.get(error["type"], ("invalid_type", ""))
            params: dict[str, Any] = {"path": path, "expected": expected or error.get("msg", "")}
            if error["type"] == "string_too_long":
                key, params["max"] = "too_long", (error.get("ctx") or {}).get("max_length")
            elif error["type"] in ("enum", "literal_error"):
                key = "one_of"
                params |= {"value": error.get("input"), "allowed": (error.get("ctx") or {}).get("expected", "")}
            items.append((path, key, params))
        return problem(422, "validation_failed", translate("validation_failed", locale), _field_errors(items, locale))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", translate("internal_error", locale_of(request)))
