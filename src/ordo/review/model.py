"""Review and risk rules as data, and the plain values the pure rule functions work on.

A rule set is versioned: every edit by an admin makes a new version, and each finding records the
version that produced it, so a decision can always be explained with the rules of its day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ordo.order.states import HoldReason


class Outcome(StrEnum):
    """What a rule asks for when it fires, from mildest to strongest."""

    APPROVE = "approve"  # waives plain "review" findings (the promotion rule)
    FLAG = "flag"  # recorded and shown, decides nothing
    REVIEW = "review"  # a person must approve before the order goes on
    SECOND_REVIEW = "second_review"  # two people: a reviewer, then the department head
    HOLD = "hold"  # the order is put on hold with the rule's reason and queued for review
    REJECT = "reject"  # refused outright (blacklist)


SEVERITY: dict[Outcome, int] = {o: i for i, o in enumerate(Outcome)}
BLOCKING = frozenset({Outcome.REVIEW, Outcome.SECOND_REVIEW, Outcome.HOLD, Outcome.REJECT})


class RuleKind(StrEnum):
    BLACKLIST = "blacklist"
    ABUSIVE_REMARK = "abusive_remark"
    VIRTUAL_PHONE = "virtual_phone"
    CANCEL_REORDER = "cancel_reorder"
    SAME_CONTACT = "same_contact"
    DUPLICATE = "duplicate"
    SECOND_REVIEW = "second_review"
    REMOTE_ADDRESS = "remote_address"
    PAYMENT_VERIFICATION = "payment_verification"
    PROMOTION_APPROVE = "promotion_approve"


class KeyKind(StrEnum):
    """What an order is indexed by for the time-window look-ups."""

    ACCOUNT = "account"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"
    CANCEL = "cancel"  # a cancellation by the account, for cancel-and-reorder


class BlacklistKind(StrEnum):
    ACCOUNT = "account"
    PHONE = "phone"
    ADDRESS = "address"
    EMAIL = "email"


class RuleParams(BaseModel):
    """The knobs of a rule; each kind reads the ones it needs (see ``rules.evaluate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: timedelta | None = Field(default=None, description="Look-back window, e.g. PT30M")
    count: int | None = Field(default=None, ge=1, le=1000, description="Orders (or cancellations) that trigger")
    amount: Decimal | None = Field(default=None, ge=0, max_digits=18, description="Amount in the order's currency")
    prefixes: tuple[str, ...] | None = Field(default=None, max_length=200)
    words: tuple[str, ...] | None = Field(default=None, max_length=2000)
    service_types: tuple[str, ...] | None = Field(default=None, max_length=50)
    traits: tuple[str, ...] | None = Field(default=None, max_length=50)
    payment_methods: tuple[str, ...] | None = Field(default=None, max_length=50)
    order_classes: tuple[str, ...] | None = Field(default=None, max_length=50)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    kind: RuleKind
    enabled: bool = True
    outcome: Outcome
    hold_reason: HoldReason | None = None
    score: int = Field(default=0, ge=0, le=1000)
    # The customer's answer to a contact attempt settles the finding (duplicates, payment check).
    cleared_by_contact: bool = False
    # Tell the customer the order needs a manual review (same address/phone, 003).
    notify_customer: bool = False
    params: RuleParams = Field(default_factory=RuleParams)
    description: str = ""


@dataclass(frozen=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]

    def get(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)


@dataclass(frozen=True)
class Subject:
    """The order under review, as the rules see it."""

    number: str
    at: datetime
    total: Decimal
    order_class: str
    service_type: str
    payment_method: str
    remote_area: bool
    phone: str | None
    remark: str | None
    skus: frozenset[str]
    traits: frozenset[str]
    keys: dict[KeyKind, str]  # KeyKind → digest of the normalised value


@dataclass(frozen=True)
class Prior:
    """An earlier order (or cancellation) sharing one of the subject's keys."""

    kind: KeyKind
    number: str
    at: datetime
    live: bool = True  # not cancelled, rejected or closed
    skus: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Listed:
    kind: BlacklistKind
    reason: str
    entry_id: int


@dataclass(frozen=True)
class History:
    priors: tuple[Prior, ...] = ()
    blacklisted: tuple[Listed, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: RuleKind
    outcome: Outcome
    score: int
    message: str  # i18n key, rendered with ``evidence`` in the reader's language
    evidence: dict[str, Any] = field(default_factory=dict)
    hold_reason: HoldReason | None = None
    cleared_by_contact: bool = False
    notify_customer: bool = False
    related: tuple[str, ...] = ()  # the earlier orders it is linked to (duplicates, same contact, cancellations)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome | None  # None: nothing fired
    hold_reasons: tuple[HoldReason, ...]
    levels: int  # 0 no review, 1 one reviewer, 2 reviewer then department head
    score: int
    rules: tuple[str, ...]  # the rules behind the outcome
    rule_set_version: int = 0  # the version of the rules that decided

    @property
    def clear(self) -> bool:
        return self.outcome is None or self.outcome not in BLOCKING

    @property
    def label(self) -> str:
        """The outcome as recorded in events: the strongest rule's outcome, or "clear"."""
        return self.outcome.value if self.outcome is not None else "clear"

    def record(self) -> dict[str, object]:
        """What every event of a screening decision carries."""
        return {"rule_set_version": self.rule_set_version, "outcome": self.label, "rules": list(self.rules),
                "score": self.score}
