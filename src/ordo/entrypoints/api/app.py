"""The FastAPI application: one router per domain under /api/v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from ordo import __version__
from ordo.auth import api as auth_api
from ordo.bootstrap import Ordo
from ordo.catalog import api as catalog_api
from ordo.channel import api as channel_api
from ordo.customer import api as customer_api
from ordo.entrypoints.api import problems
from ordo.entrypoints.api.deps import current_actor
from ordo.inventory import api as inventory_api
from ordo.kernel.i18n import translate
from ordo.order import api as order_api

MAX_BODY_BYTES = 1_048_576


def create_app(ordo: Ordo | None = None) -> FastAPI:
    ordo = ordo or Ordo()
    app = FastAPI(
        title="Ordo",
        version=__version__,
        description="Order management: intake, review, stock, fulfilment, shipping, after-sales.",
    )
    app.state.ordo = ordo
    app.state.default_locale = ordo.settings.default_locale
    problems.install(app)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            message = translate("payload_too_large", problems.locale_of(request), {"limit": MAX_BODY_BYTES})
            return problems.problem(413, "payload_too_large", message)
        if "\x00" in request.url.path or "%00" in request.url.query:
            message = translate("nul_character", problems.locale_of(request), {"path": "URL"})
            return problems.problem(422, "validation_failed", message)
        return await call_next(request)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(auth_api.router, prefix="/api/v1", responses=problems.STANDARD_RESPONSES)
    # Every other router needs a token, even for a route whose author forgot to ask for the actor
    # (FastAPI resolves the dependency once per request, so routes that do ask pay nothing more).
    for module in (order_api, channel_api, catalog_api, customer_api, inventory_api):
        app.include_router(
            module.router,
            prefix="/api/v1",
            dependencies=[Depends(current_actor)],
            responses=problems.STANDARD_RESPONSES,
        )
    return app
