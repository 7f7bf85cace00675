"""E-mail over SMTP (standard library)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime

from ordo.adapters.messaging.base import DeliveryFailed, OutgoingMessage


class SmtpEmail:
    def __init__(self, host: str, port: int, mail_from: str, *, timeout: float = 10.0,
                 username: str | None = None, password: str | None = None, starttls: bool = False) -> None:
        self.host, self.port, self.mail_from, self.timeout = host, port, mail_from, timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: OutgoingMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.at)
        # The key doubles as the Message-ID, so a mail system can drop a second delivery.
        mail["Message-ID"] = f"<{message.key}@ordo>"
        mail["X-Ordo-Key"] = message.key
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"smtp {self.host}:{self.port}: {exc}") from exc
