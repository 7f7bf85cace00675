"""Rate limits over the `limits` package: a moving window per (scope, client), counters in memory
by default or in Redis (``ORDO_RATE_LIMIT_STORAGE``) so that several server processes share them."""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies

from ordo.kernel.errors import RateLimited


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def hit(self, rate: str, scope: str, client: str) -> None:
        """Count one request; raise ``RateLimited`` (with the seconds to wait) when over the rate."""
        item = parse(rate)
        if self._limiter.hit(item, scope, client):
            return
        reset = self._limiter.get_window_stats(item, scope, client).reset_time
        raise RateLimited("rate_limited", retry_after=max(1, math.ceil(reset - time.time())))
