"""Rule-set versions, risk look-up keys, findings, review cases, contact attempts, blacklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ordo.adapters.db.base import Base, UTCDateTime


class ReviewRuleSet(Base):
    """One row per version of the rules; the newest is in force (none yet: the policy defaults,
    version 0). Rows are never changed, so a finding's version always explains it."""

    __tablename__ = "review_rule_sets"
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(1000))


class RiskKey(Base):
    """An order (or a cancellation) under a normalised key; the risk look-ups read this index
    bounded by their time window, so their cost does not grow with the order history."""

    __tablename__ = "risk_keys"
    __table_args__ = (Index("ix_risk_keys_lookup", "kind", "digest", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewFinding(Base):
    __tablename__ = "review_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[int]
    message: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    related_orders: Mapped[list[str]] = mapped_column(JSON, server_default="[]")  # numbers of the linked orders
    cleared_by_contact: Mapped[bool] = mapped_column(default=False)
    rule_set_version: Mapped[int]
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(64))


class ReviewCase(Base):
    """An order waiting for people: in the queue while ``status`` is open."""

    __tablename__ = "review_cases"
    __table_args__ = (Index("ix_review_cases_queue", "status", "vip_level", "class_rank", "opened_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    status: Mapped[str] = mapped_column(String(16))
    vip_level: Mapped[int]
    class_rank: Mapped[int]
    levels: Mapped[int]
    rules: Mapped[str] = mapped_column(String(400))
    score: Mapped[int]
    rule_set_version: Mapped[int] = mapped_column(server_default="0")  # the rules that decided last
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_approved_by: Mapped[str | None] = mapped_column(String(64))
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(1000))


class ReviewContact(Base):
    """A contact attempt; unanswered past the policy limit puts the order on hold."""

    __tablename__ = "review_contacts"
    __table_args__ = (Index("ix_review_contacts_waiting", "state", "attempted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(1000))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempted_by: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(String(1000))


class BlacklistEntry(Base):
    __tablename__ = "blacklist_entries"
    __table_args__ = (Index("ix_blacklist_lookup", "kind", "digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(1000))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
