from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChannelKind(StrEnum):
    WEB = "web"
    APP = "app"
    MINI_PROGRAM = "mini_program"
    MARKETPLACE = "marketplace"
    OFFLINE = "offline"
    EMAIL = "email"
    API = "api"


@dataclass(frozen=True)
class ShopView:
    id: int
    code: str
    channel: str
