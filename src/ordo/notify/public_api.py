"""Public HTTP (no token): the customer's order-status query, rate-limited per client address."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from ordo.adapters.ratelimit import RateLimiter
from ordo.entrypoints.api.deps import Locale, Reading
from ordo.notify.tracking import TrackRead, track

router = APIRouter(tags=["tracking"])


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.rate_limiter = RateLimiter(request.app.state.ordo.settings.rate_limit_storage)
    return limiter


@router.get("/track/{number}", response_model=TrackRead,
            responses={404: {"description": "Unknown order or wrong digits (the same answer)"},
                       429: {"description": "Too many queries from this address; see Retry-After"}})
def track_order(number: str, uow: Reading, language: Locale, request: Request,
                phone_last4: str = Query(..., min_length=1, max_length=8)) -> TrackRead:
    client = request.client.host if request.client else "-"
    _limiter(request).hit(uow.policy.notify.track_rate_limit, "track", client)
    return track(uow.session, uow.policy, number=number, phone_last4=phone_last4, language=language)
