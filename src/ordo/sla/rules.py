"""Pure SLA rules: which clock rules an event concerns, and when a step falls due."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from ordo.kernel.calendar import BusinessCalendar
from ordo.policy import ClockRule, Policy, TimeLimit
from ordo.sla.model import Facts

HOLD_EVENT = "order.hold"
RELEASE_EVENT = "order.released"


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def calendar_of(policy: Policy) -> BusinessCalendar:
    return BusinessCalendar(
        tz=policy.business_timezone,
        work_start=_hhmm(policy.sla.work_start),
        work_end=_hhmm(policy.sla.work_end),
        overrides=dict(policy.sla.calendar_overrides),
    )


@dataclass(frozen=True)
class RuleIndex:
    """The clock rules by event name, built once per policy so that an event no rule mentions
    costs one dictionary lookup and no query."""

    calendar: BusinessCalendar
    starts: dict[str, list[ClockRule]] = field(default_factory=dict)
    stops: dict[str, list[str]] = field(default_factory=dict)
    cancels: dict[str, list[str]] = field(default_factory=dict)
    pausing: frozenset[str] = frozenset()
    # Step → how long a breach stays open before it goes to the supervisor.
    escalate_after: dict[str, timedelta] = field(default_factory=dict)
    # Step → the event its breach is recorded as (the rule's ``breach_event``).
    breach_events: dict[str, str] = field(default_factory=dict)

    def concerns(self, name: str) -> bool:
        return name in self.starts or name in self.stops or name in self.cancels or (
            bool(self.pausing) and name in (HOLD_EVENT, RELEASE_EVENT)
        )


def index_rules(policy: Policy) -> RuleIndex:
    starts: dict[str, list[ClockRule]] = defaultdict(list)
    stops: dict[str, list[str]] = defaultdict(list)
    cancels: dict[str, list[str]] = defaultdict(list)
    for rule in policy.sla.clocks:
        if rule.step not in policy.time_limits:
            raise ValueError(f"clock rule {rule.step!r} has no time limit in the policy")
        for name in rule.start:
            starts[name].append(rule)
        for name in rule.stop:
            stops[name].append(rule.step)
        for name in rule.cancel:
            cancels[name].append(rule.step)
    pausing = frozenset(r.step for r in policy.sla.clocks if r.pauses_on_hold)
    escalate = {r.step: r.escalate_after or policy.sla.escalate_after for r in policy.sla.clocks}
    breach_events = {r.step: r.breach_event for r in policy.sla.clocks if r.breach_event}
    return RuleIndex(calendar_of(policy), dict(starts), dict(stops), dict(cancels), pausing, escalate, breach_events)


def escalate_after(index: RuleIndex, step: str, default: timedelta) -> timedelta:
    """The further limit after a breach before the supervisor is told (per rule, else the policy's)."""
    return index.escalate_after.get(step, default)


def applies(rule: ClockRule, facts: Facts, to_state: str | None) -> bool:
    if rule.start_states and to_state not in rule.start_states:
        return False
    if rule.order_classes and facts.order_class not in rule.order_classes:
        return False
    if rule.service_types and facts.service_type not in rule.service_types:
        return False
    return not (rule.warehouse_kinds and facts.warehouse_kind not in rule.warehouse_kinds)


def deadline(start: datetime, limit: TimeLimit, calendar: BusinessCalendar) -> datetime:
    """When a step started at ``start`` falls due (raises ``CalendarUnknown`` rather than guess)."""
    return calendar.due(start, limit.limit, limit.calendar)


def enquiry_deadline(start: datetime, policy: Policy, calendar: BusinessCalendar) -> datetime:
    """POLICIES.md: an enquiry is answered within 30 minutes in working hours, otherwise by 10:00 of
    the next working day."""
    limits = policy.time_limits
    if calendar.in_working_hours(start):
        return deadline(start, limits["enquiry_answer"], calendar)
    return deadline(start, limits["enquiry_answer_after_hours"], calendar)


def elapsed(started_at: datetime, stopped_at: datetime, paused: timedelta) -> timedelta:
    return stopped_at - started_at - paused


def progress_slot(now: datetime, checks: tuple[str, ...], calendar: BusinessCalendar) -> datetime | None:
    """The latest progress-check time of today (local) that has passed, or None before the first."""
    local = now.astimezone(calendar.zone)
    passed = [
        datetime.combine(local.date(), _hhmm(c), calendar.zone) for c in sorted(checks) if _hhmm(c) <= local.time()
    ]
    return passed[-1] if passed else None
