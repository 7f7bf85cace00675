"""Request guards applied before any route: body size (also for chunked bodies without a
Content-Length, counted while they stream in) and NUL characters in the URL."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordo.entrypoints.api.problems import problem
from ordo.kernel.i18n import negotiate, translate


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, default_locale: str = "en") -> None:
        self.app, self.limit, self.default_locale = app, limit, default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}

        def say(code: str, **values: object) -> str:
            return translate(code, negotiate(headers.get("accept-language"), self.default_locale), values)

        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await _answer(send, 413, "payload_too_large", say("payload_too_large", limit=self.limit))
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await _answer(send, 422, "validation_failed", say("nul_character", path="URL"))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, say("payload_too_large", limit=self.limit))
            return message

        await self.app(scope, counted, send)


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    response = problem(status, code, message)
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}
