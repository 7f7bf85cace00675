"""Public HTTP (no token): the customer's order-status query."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ordo.entrypoints.api.deps import Locale, Reading
from ordo.notify.tracking import TrackRead, track

router = APIRouter(tags=["tracking"])


@router.get("/track/{number}", response_model=TrackRead,
            responses={404: {"description": "Unknown order or wrong digits (the same answer)"}})
def track_order(number: str, uow: Reading, language: Locale,
                phone_last4: str = Query(..., min_length=1, max_length=8)) -> TrackRead:
    return track(uow.session, uow.policy, number=number, phone_last4=phone_last4, language=language)
