"""The outside world of a soak run, on 127.0.0.1: a webhook subscriber that checks every signature
and a mail server, each recording every delivery it accepts by its idempotency key, and the SMS
file the worker appends to. ``Receivers.received()`` is what the checker compares the outbox with.

The webhook endpoint refuses a small share of deliveries with 503 (``flaky``), so the worker's
retries are part of every run.
"""

from __future__ import annotations

import http.server
import json
import random
import re
import socket
import threading
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from ordo.adapters.messaging.webhook import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, verify


class _Hooks(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: str, flaky: float, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.secret, self.flaky, self.random = secret, flaky, random.Random(seed)
        self.lock = threading.Lock()
        self.keys: list[str] = []
        self.refused: Counter[str] = Counter()  # why deliveries were refused: "flaky", "signature", "key"


class _HookHandler(http.server.BaseHTTPRequestHandler):
    server: _Hooks

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        hooks = self.server
        key = self.headers.get(IDEMPOTENCY_KEY) or ""
        why = None
        if not verify(hooks.secret, self.headers.get(TIMESTAMP, ""), body, self.headers.get(SIGNATURE, "")):
            why = "signature"
        elif json.loads(body).get("key") != key:
            why = "key"
        with hooks.lock:
            if why is None and hooks.random.random() < hooks.flaky:
                why = "flaky"
            if why is None:
                hooks.keys.append(key)
            else:
                hooks.refused[why] += 1
        self.send_response(204 if why is None else (503 if why == "flaky" else 401))
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Mailbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: list[str] = []
        self.without_key = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        with self.lock:
            if headers.get("X-Ordo-Key"):
                self.keys.append(str(headers["X-Ordo-Key"]))
            else:
                self.without_key += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SMS_KEY = re.compile(r'"key": "((?:[^"\\]|\\.)*)"')


class Receivers:
    """Start with ``start()``, stop with ``stop()``; ``notify_policy()`` sends Ordo's messages to them."""

    def __init__(self, directory: Path, *, secret: str, flaky: float = 0.03, seed: int = 0) -> None:
        self.sms_file = directory / "sms.log"
        self.hooks = _Hooks(secret, flaky, seed)
        self.mailbox = _Mailbox()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=_free_port())

    def start(self) -> None:
        threading.Thread(target=self.hooks.serve_forever, name="soak-hooks", daemon=True).start()
        self.smtp.start()

    def stop(self) -> None:
        self.hooks.shutdown()
        self.hooks.server_close()
        self.smtp.stop()

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.hooks.server_address[1]}/hooks"

    def notify_policy(self, secret_env: str) -> dict[str, Any]:
        """The policy's ``notify`` settings that send every channel here."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.smtp.port, "sms_outbox_file": str(self.sms_file),
                "webhooks": [{"name": "soak", "url": self.hook_url, "secret_env": secret_env}]}

    def sms_keys(self) -> list[str]:
        """One key per line the SMS provider appended (read by pattern: a line cut short by a
        killed worker spoils only itself)."""
        if not self.sms_file.exists():
            return []
        return [json.loads(f'"{m}"') for m in _SMS_KEY.findall(self.sms_file.read_text(encoding="utf-8"))]

    def received(self) -> dict[str, list[str]]:
        with self.hooks.lock, self.mailbox.lock:
            return {"webhook": list(self.hooks.keys), "email": list(self.mailbox.keys), "sms": self.sms_keys()}

    def refused(self) -> dict[str, int]:
        with self.hooks.lock:
            return {**self.hooks.refused, "mail_without_key": self.mailbox.without_key}
