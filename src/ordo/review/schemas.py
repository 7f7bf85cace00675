"""What the review API reads and returns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from ordo.kernel.checks import In
from ordo.review.model import BlacklistKind, Outcome, RuleKind


class FindingRead(BaseModel):
    rule: str
    kind: RuleKind
    outcome: Outcome
    score: int
    message: str = Field(description="The finding with its evidence, in the caller's language")
    evidence: dict[str, Any]
    related_orders: list[str] = Field(description="Numbers of the earlier orders the finding links this one to")
    rule_set_version: int
    found_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None


class ContactRead(BaseModel):
    channel: str
    note: str | None
    attempted_at: datetime
    attempted_by: str
    state: str
    answered_at: datetime | None
    answer: str | None


class CaseRead(BaseModel):
    status: str
    levels: int
    rules: list[str]
    score: int
    rule_set_version: int = Field(description="The rule-set version of the last automatic decision on the case")
    opened_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    first_approved_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class DecisionRead(BaseModel):
    """The latest automatic review decision: which rule-set version decided, and what."""

    rule_set_version: int
    outcome: str = Field(description="clear, flag, approve, review, second_review, hold or reject")
    rules: list[str]
    score: int
    at: datetime
    event: str


class ReviewRead(BaseModel):
    decision: DecisionRead | None = None
    case: CaseRead | None
    findings: list[FindingRead]
    contacts: list[ContactRead]


class QueueItem(BaseModel):
    number: str
    shop: str
    status: str
    total: Decimal
    currency: str
    vip_level: int
    order_class: str
    waiting_since: datetime
    levels: int
    level: int = Field(description="The level waiting now: 1, or 2 after the first approval")
    rules: list[str]
    score: int
    claimed_by: str | None
    first_approved_by: str | None
    findings: list[FindingRead]


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int


class DecisionIn(In):
    note: str | None = Field(default=None, max_length=1000)


class RejectIn(In):
    reason: str = Field(min_length=1, max_length=1000)
    blacklist: bool = Field(default=False, description="Also put the account and phone on the blacklist")


class ContactIn(In):
    channel: Literal["phone", "sms", "email", "chat"]
    note: str | None = Field(default=None, max_length=1000)
    at: datetime | None = Field(default=None, description="When the attempt was made (default: now)")
    hold: bool = Field(default=False, description="Put the order on hold until the customer answers")


class AnswerIn(In):
    note: str | None = Field(default=None, max_length=1000)


class BatchIn(In):
    action: Literal["approve", "reject"]
    numbers: list[str] = Field(min_length=1, max_length=1000)
    reason: str | None = Field(default=None, max_length=1000)
    note: str | None = Field(default=None, max_length=1000)


class BatchItem(BaseModel):
    number: str
    ok: bool
    status: str | None
    code: str | None
    detail: str | None


class RuleRead(BaseModel):
    code: str
    kind: RuleKind
    enabled: bool
    outcome: Outcome
    hold_reason: str | None
    score: int
    cleared_by_contact: bool
    notify_customer: bool
    params: dict[str, Any]
    description: str


class RuleSetRead(BaseModel):
    version: int
    rules: list[RuleRead]


class RuleVersionRead(BaseModel):
    version: int
    created_at: datetime
    created_by: str
    note: str | None


class RulePatch(In):
    enabled: bool | None = None
    score: int | None = Field(default=None, ge=0, le=1000)
    params: dict[str, Any] | None = Field(default=None, description="Only the parameters to change")
    note: str | None = Field(default=None, max_length=1000)


class AddressKeyIn(In):
    country: str | None = Field(default=None, max_length=2)
    province: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    street: str | None = Field(default=None, max_length=300)


class BlacklistIn(In):
    kind: BlacklistKind
    value: str | None = Field(default=None, max_length=500, description="Phone, e-mail, or channel:account")
    address: AddressKeyIn | None = Field(default=None, description="For kind address")
    reason: str = Field(min_length=1, max_length=1000)


class BlacklistRead(BaseModel):
    id: int
    kind: BlacklistKind
    value: str
    reason: str
    added_by: str
    added_at: datetime
    removed_by: str | None
    removed_at: datetime | None
