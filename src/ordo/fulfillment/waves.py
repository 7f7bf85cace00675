"""Waves: shipments of one warehouse grouped into pick lists by urgency, carrier cut-off and a size
limit. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WaveCandidate:
    shipment: str
    warehouse: str
    order_class: str
    vip_level: int
    carrier: str | None
    cutoff: datetime | None  # the carrier's next collection
    items: int
    created_at: datetime


@dataclass(frozen=True)
class PickListPlan:
    warehouse: str
    shipments: tuple[str, ...]
    items: int


def _urgency(c: WaveCandidate, class_rank: Mapping[str, int]) -> tuple[object, ...]:
    return (
        class_rank.get(c.order_class, len(class_rank)),
        c.cutoff is None,
        c.cutoff or datetime.max.replace(tzinfo=c.created_at.tzinfo),
        -c.vip_level,
        c.created_at,
        c.shipment,
    )


def plan_waves(
    candidates: Iterable[WaveCandidate], *, max_items: int, class_rank: Mapping[str, int]
) -> list[PickListPlan]:
    """Per warehouse, most urgent first (order class rank, earliest carrier cut-off, VIP level, age), cut
    into pick lists of at most ``max_items`` items. A shipment larger than the limit gets a list of
    its own; shipments are never split across lists."""
    by_warehouse: dict[str, list[WaveCandidate]] = defaultdict(list)
    for c in candidates:
        by_warehouse[c.warehouse].append(c)
    plans: list[PickListPlan] = []
    for warehouse in sorted(by_warehouse):
        current: list[WaveCandidate] = []
        for c in sorted(by_warehouse[warehouse], key=lambda c: _urgency(c, class_rank)):
            if current and sum(x.items for x in current) + c.items > max_items:
                plans.append(_plan(warehouse, current))
                current = []
            current.append(c)
        if current:
            plans.append(_plan(warehouse, current))
    return plans


def _plan(warehouse: str, members: list[WaveCandidate]) -> PickListPlan:
    return PickListPlan(warehouse, tuple(c.shipment for c in members), sum(c.items for c in members))
