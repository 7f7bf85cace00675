"""Plain views of catalog data that the pure rules work on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SkuView:
    id: int
    code: str
    name: str
    category: str
    traits: frozenset[str]
    price: Decimal
    weight_g: int = 0
