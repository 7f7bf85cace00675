from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class OutboxRead(BaseModel):
    id: int
    topic: str
    key: str
    audience: str
    status: str
    attempts: int
    available_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]
