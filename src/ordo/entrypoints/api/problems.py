"""Every error leaves as application/problem+json, with a machine code, a message in the
caller's language and per-field details."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordo.kernel.checks import problems_from_errors
from ordo.kernel.errors import OrdoError, ValidationFailed
from ordo.kernel.i18n import negotiate, translate

log = logging.getLogger("ordo.api")

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    field: str
    code: str
    message: str


class ProblemBody(BaseModel):
    """application/problem+json, as every error of the API is answered."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldError] | None = None


def _documented(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ProblemBody"}
    return {"model": ProblemBody, "description": description, "content": {PROBLEM: {"schema": schema}}}


# Documented on every route that needs a token, so clients (and schema-driven tests) know them.
STANDARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("The body could not be read (not JSON, or not UTF-8)"),
    401: _documented("No valid API token"),
    403: _documented("The caller's roles do not allow this"),
    404: _documented("Not found, or outside the caller's scope"),
    409: _documented("Refused in the current state, or a conflict"),
    413: _documented("Request body too large"),
    422: _documented("Invalid input; every problem listed by field"),
}


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """The methods the API documents for a concrete path (path parameters match one segment)."""
    table = getattr(app.state, "path_methods", None)
    if table is None:
        table = [
            (
                re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"),
                sorted(m.upper() for m in ops),
            )
            for template, ops in app.openapi()["paths"].items()
        ]
        app.state.path_methods = table
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})


def locale_of(request: Request) -> str:
    default = getattr(request.app.state, "default_locale", "en")
    return negotiate(request.headers.get("accept-language"), default)


def problem(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": message,
        "status": status,
        "code": code,
        "detail": message,
    }
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
        response = problem(exc.status, exc.code, translate(exc.key, locale_of(request), exc.params))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if exc.status == 429:
            response.headers["Retry-After"] = str(exc.params.get("retry_after", 1))
        return response

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _validation(request, ValidationFailed(problems_from_errors(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        detail = translate("bad_request", locale_of(request)) if exc.status_code == 400 else str(exc.detail)
        response = problem(exc.status_code, codes.get(exc.status_code, "error"), detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; name them all.
            response.headers["Allow"] = ", ".join(_methods_of(request.app, request.url.path))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", translate("internal_error", locale_of(request)))
