"""What every channel gets and promises: one message, delivered or a ``DeliveryFailed``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class DeliveryFailed(Exception):
    """The channel could not deliver; the worker retries with backoff."""


@dataclass(frozen=True)
class OutgoingMessage:
    key: str  # idempotency key: receivers drop a second delivery with the same key
    channel: str  # email | sms | webhook
    to: str
    subject: str
    body: str
    topic: str
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class FakeChannel:
    """Records what it sends; fails the first ``failures`` attempts (tests)."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failures = failures

    def send(self, message: OutgoingMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryFailed("fake failure")
        self.sent.append(message)
