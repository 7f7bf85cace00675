"""Clock statuses and the plain values the pure rules work on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ClockStatus(StrEnum):
    OPEN = "open"  # running, not yet late
    BREACHED = "breached"  # running and past its deadline (marked once by the scan)
    PAUSED = "paused"  # the order is on hold and the clock's rule pauses on hold
    UNSCHEDULED = "unscheduled"  # the calendar does not know the days the deadline needs
    STOPPED = "stopped"  # the step happened; counts for the on-time rate
    CANCELLED = "cancelled"  # the step no longer has to happen


RUNNING = (ClockStatus.OPEN, ClockStatus.BREACHED, ClockStatus.PAUSED, ClockStatus.UNSCHEDULED)


@dataclass(frozen=True)
class Facts:
    """What a clock rule's conditions look at."""

    order_class: str | None = None
    service_type: str | None = None
    warehouse_kind: str | None = None
