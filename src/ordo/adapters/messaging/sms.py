"""SMS: a provider Protocol; the default provider appends to a file under var/ (no gateway needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from ordo.adapters.messaging.base import DeliveryFailed, OutgoingMessage


class SmsProvider(Protocol):
    def send_sms(self, *, to: str, text: str, key: str) -> None: ...


class FileSmsProvider:
    """One JSON line per text message; operators (or a gateway script) read the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send_sms(self, *, to: str, text: str, key: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"key": key, "to": to, "text": text}, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise DeliveryFailed(f"sms file {self.path}: {exc}") from exc


class SmsChannel:
    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    def send(self, message: OutgoingMessage) -> None:
        self.provider.send_sms(to=message.to, text=message.body, key=message.key)
