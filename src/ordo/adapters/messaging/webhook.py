"""Webhooks: JSON POST signed with HMAC-SHA256 over "timestamp.body", with an idempotency key.

Receivers verify ``X-Ordo-Signature`` (``sha256=<hex>``) with the shared secret, refuse stale
``X-Ordo-Timestamp`` values and drop a second delivery of the same ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta

from ordo.adapters.messaging.base import DeliveryFailed, OutgoingMessage
from ordo.kernel.clock import Clock, SystemClock

SIGNATURE = "X-Ordo-Signature"
TIMESTAMP = "X-Ordo-Timestamp"
IDEMPOTENCY_KEY = "Idempotency-Key"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: datetime | None = None,
           tolerance: timedelta | None = None) -> bool:
    """The signature matches and (when ``now`` is given) the timestamp is within ``tolerance`` of it:
    what a receiver checks before it trusts a request."""
    if not hmac.compare_digest(signature(secret, timestamp, body), header or ""):
        return False
    if now is None:
        return True
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= (tolerance or timedelta(minutes=5)).total_seconds()


class WebhookChannel:
    """``secret`` signs messages without a subscriber; ``secrets`` holds each subscriber's own."""

    def __init__(self, secret: str | None = None, *, secrets: Mapping[str, str] | None = None,
                 timeout: float = 10.0, clock: Clock | None = None) -> None:
        self.secret, self.secrets = secret, dict(secrets or {})
        self.timeout, self.clock = timeout, clock or SystemClock()

    def _secret(self, message: OutgoingMessage) -> str:
        subscriber = message.payload.get("subscriber")
        secret = self.secrets.get(subscriber) if subscriber is not None else self.secret
        if not secret:
            raise DeliveryFailed(f"webhook {message.to}: no secret for subscriber {subscriber!r}")
        return secret

    def send(self, message: OutgoingMessage) -> None:
        secret = self._secret(message)
        body = json.dumps(
            {"key": message.key, "topic": message.topic, "at": message.at.isoformat(), "data": message.payload},
            ensure_ascii=False, sort_keys=True,
        ).encode()
        # The time of this attempt, so that receivers can refuse replays of an old request.
        timestamp = str(int(self.clock.now().timestamp()))
        request = urllib.request.Request(
            message.to, data=body, method="POST",
            headers={"Content-Type": "application/json", TIMESTAMP: timestamp, IDEMPOTENCY_KEY: message.key,
                     SIGNATURE: signature(secret, timestamp, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"webhook {message.to}: {exc}") from exc
