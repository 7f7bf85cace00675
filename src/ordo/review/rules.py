"""Review and risk rules as pure functions: values in, findings and a decision out.

The handler gathers the subject, its history inside each rule's time window (indexed look-ups)
and the blacklist hits; nothing here touches the database or the clock.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

from ordo.order.model import by_number
from ordo.order.rules import normalise_text
from ordo.order.states import HoldReason
from ordo.policy import Policy, RiskPolicy
from ordo.review.model import (
    SEVERITY,
    Decision,
    Finding,
    History,
    KeyKind,
    Outcome,
    Rule,
    RuleKind,
    RuleParams,
    RuleSet,
    Subject,
)

# --- normalisation ------------------------------------------------------------------------------


_DROPPED = "ZPSC"  # Unicode categories squash drops: separators, punctuation, symbols, controls
_DROPPED_ASCII = {c: None for c in range(128) if unicodedata.category(chr(c))[0] in _DROPPED}


def squash(value: str) -> str:
    """NFKC (full-width → ASCII), case-folded, without spaces, punctuation or symbols."""
    text = unicodedata.normalize("NFKC", value).casefold()
    if text.isascii():  # most keys: one C call instead of a category look-up per character
        return text.translate(_DROPPED_ASCII)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in _DROPPED)


def _drop_suffix(part: str, suffixes: Iterable[str]) -> str:
    """``part`` without the first of ``suffixes`` (longest first) it ends with."""
    for suffix in suffixes:
        if part.endswith(suffix) and len(part) > len(suffix):
            return part[: -len(suffix)]
    return part


@lru_cache(maxsize=32)
def _address_words(suffixes: tuple[str, ...],
                   synonyms: tuple[tuple[str, str], ...]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The policy's administrative suffixes (squashed, longest first) and street synonyms (squashed),
    worked out once per policy rather than for every address: they were most of an address's cost."""
    squashed = sorted(dict.fromkeys(squash(s) for s in suffixes), key=len, reverse=True)
    return tuple(squashed), {squash(k): squash(v) for k, v in synonyms}


def normalise_address(
    *,
    country: str | None,
    province: str | None,
    city: str | None,
    district: str | None,
    street: str | None,
    policy: RiskPolicy,
) -> str:
    """One spelling for one place: full-width digits, spaces, punctuation, case, administrative
    suffixes (上海市 = 上海) and street words (Road = Rd) do not make two addresses."""
    suffixes, synonyms = _address_words(tuple(policy.address_suffixes), tuple(policy.address_synonyms.items()))
    admin = [_drop_suffix(squash(p), suffixes) for p in (province, city, district) if p]
    words = normalise_text(street or "").casefold().split()
    street_text = "".join(synonyms.get(squash(w).rstrip("."), squash(w)) for w in words)
    for long, short in synonyms.items():
        if not long.isascii():
            street_text = street_text.replace(long, short)
    return "|".join([squash(country or ""), *admin, street_text])


def normalise_account(channel: str, account: str | None, customer_id: int) -> str:
    """The buyer's account on its channel, or Ordo's customer when the channel sends none."""
    if account and account.strip():
        return f"{channel}:{squash(account)}"
    return f"customer:{customer_id}"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def is_virtual_operator(phone: str | None, prefixes: Iterable[str]) -> bool:
    """A Chinese mobile number (E.164 +86…) in one of the virtual operators' ranges."""
    if not phone or not phone.startswith("+86"):
        return False
    national = phone[3:]
    return any(national.startswith(p) for p in prefixes)


def abusive_words(remark: str | None, words: Iterable[str]) -> list[str]:
    """The listed words the remark contains, after normalising both the same way."""
    if not remark:
        return []
    text = squash(remark)
    return [w for w in words if squash(w) and squash(w) in text]


# --- default rules --------------------------------------------------------------------------------


def default_rules(policy: Policy) -> RuleSet:
    """Version 0: the rules of POLICIES.md with the policy file's numbers."""
    risk, review = policy.risk, policy.review
    intercept = HoldReason.RISK_INTERCEPTED

    def rule(code: RuleKind, outcome: Outcome, score: int, description: str, **kw: Any) -> Rule:
        params = RuleParams(**kw.pop("params", {}))
        return Rule(code=code.value, kind=code, outcome=outcome, score=score, description=description,
                    params=params, **kw)

    return RuleSet(
        version=0,
        rules=(
            rule(RuleKind.BLACKLIST, Outcome.REJECT, 100, "account, phone, e-mail or address on the blacklist"),
            rule(RuleKind.ABUSIVE_REMARK, Outcome.HOLD, 50, "abusive or threatening remark",
                 hold_reason=intercept, params={"words": risk.abusive_words}),
            rule(RuleKind.SAME_CONTACT, Outcome.HOLD, 40, "same address or phone with many orders in a window",
                 hold_reason=intercept, notify_customer=True,
                 params={"count": risk.same_contact_order_count, "window": risk.same_contact_window}),
            rule(RuleKind.DUPLICATE, Outcome.HOLD, 30, "same account or address, same SKU, within the window",
                 hold_reason=HoldReason.DUPLICATE_SUSPECTED, cleared_by_contact=True,
                 params={"window": risk.duplicate_window}),
            rule(RuleKind.CANCEL_REORDER, Outcome.REVIEW, 30, "frequent cancel-and-reorder by the account",
                 params={"count": risk.cancel_reorder_count, "window": risk.cancel_reorder_window}),
            rule(RuleKind.VIRTUAL_PHONE, Outcome.REVIEW, 20, "virtual-operator phone number",
                 params={"prefixes": risk.virtual_operator_prefixes}),
            rule(RuleKind.SECOND_REVIEW, Outcome.SECOND_REVIEW, 0, "special service or amount over the threshold",
                 params={"amount": review.second_review_amount, "service_types": review.second_review_service_types,
                         "traits": review.second_review_traits}),
            rule(RuleKind.REMOTE_ADDRESS, Outcome.REVIEW, 10, "address in a remote area"),
            rule(RuleKind.PAYMENT_VERIFICATION, Outcome.REVIEW, 0, "payment method verified with the customer",
                 cleared_by_contact=True, params={"payment_methods": review.verify_payment_methods}),
            rule(RuleKind.PROMOTION_APPROVE, Outcome.APPROVE, 0, "promotion: small amount, address without problems",
                 params={"amount": review.promotion_auto_approve_amount, "order_classes": review.promotion_classes}),
        ),
    )


# --- evaluation -----------------------------------------------------------------------------------


def _window_label(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _in_window(subject: Subject, at: Any, window: timedelta) -> bool:
    """Inclusive: an order exactly ``window`` earlier is inside it."""
    return subject.at - window <= at <= subject.at


def _same_contact(rule: Rule, subject: Subject, history: History) -> Finding | None:
    window, count = rule.params.window, rule.params.count
    if window is None or count is None:
        return None
    for kind in (KeyKind.PHONE, KeyKind.ADDRESS):
        numbers = sorted(
            {p.number for p in history.priors if p.kind == kind and p.live and _in_window(subject, p.at, window)}
        )
        if len(numbers) + 1 >= count:
            orders = [*numbers, subject.number]
            return _finding(rule, f"risk.same_{kind}", related=numbers, count=len(orders),
                            window=_window_label(window), orders=", ".join(orders))
    return None


def _duplicate(rule: Rule, subject: Subject, history: History) -> Finding | None:
    window = rule.params.window
    if window is None:
        return None
    hits = [
        p for p in history.priors
        if p.kind in (KeyKind.ACCOUNT, KeyKind.ADDRESS) and p.live and p.skus & subject.skus
        and _in_window(subject, p.at, window)
    ]
    if not hits:
        return None
    by = sorted({p.kind.value for p in hits})
    earlier = by_number({p.number for p in hits})
    return _finding(rule, "risk.duplicate", related=earlier, by=", ".join(by), window=_window_label(window),
                    orders=", ".join(earlier),
                    skus=", ".join(sorted(set().union(*(p.skus & subject.skus for p in hits)))))


def _cancel_reorder(rule: Rule, subject: Subject, history: History) -> Finding | None:
    window, count = rule.params.window, rule.params.count
    if window is None or count is None:
        return None
    cancelled = sorted(
        {p.number for p in history.priors if p.kind == KeyKind.CANCEL and _in_window(subject, p.at, window)}
    )
    if len(cancelled) < count:
        return None
    return _finding(rule, "risk.cancel_reorder", related=cancelled, count=len(cancelled),
                    window=_window_label(window), orders=", ".join(cancelled))


def _finding(rule: Rule, message: str, related: Iterable[str] = (), **evidence: Any) -> Finding:
    return Finding(
        rule=rule.code, kind=rule.kind, outcome=rule.outcome, score=rule.score, message=message,
        evidence=evidence, hold_reason=rule.hold_reason, cleared_by_contact=rule.cleared_by_contact,
        notify_customer=rule.notify_customer, related=tuple(related),
    )


def _one(rule: Rule, subject: Subject, history: History) -> Finding | None:
    p = rule.params
    match rule.kind:
        case RuleKind.BLACKLIST:
            if history.blacklisted:
                hit = history.blacklisted[0]
                return _finding(rule, "risk.blacklisted", what=hit.kind.value, reason=hit.reason, entry=hit.entry_id)
        case RuleKind.ABUSIVE_REMARK:
            found = abusive_words(subject.remark, p.words or ())
            if found:
                return _finding(rule, "risk.abusive_remark", words=", ".join(found))
        case RuleKind.VIRTUAL_PHONE:
            if is_virtual_operator(subject.phone, p.prefixes or ()):
                return _finding(rule, "risk.virtual_phone", phone=subject.phone)
        case RuleKind.CANCEL_REORDER:
            return _cancel_reorder(rule, subject, history)
        case RuleKind.SAME_CONTACT:
            return _same_contact(rule, subject, history)
        case RuleKind.DUPLICATE:
            return _duplicate(rule, subject, history)
        case RuleKind.SECOND_REVIEW:
            why = []
            if subject.service_type in (p.service_types or ()):
                why.append(f"service {subject.service_type}")
            why += [f"goods {t}" for t in sorted(subject.traits & set(p.traits or ()))]
            if p.amount is not None and subject.total > p.amount:
                why.append(f"amount {subject.total} > {p.amount}")
            if why:
                return _finding(rule, "risk.second_review", why="; ".join(why))
        case RuleKind.REMOTE_ADDRESS:
            if subject.remote_area:
                return _finding(rule, "risk.remote_address")
        case RuleKind.PAYMENT_VERIFICATION:
            if subject.payment_method in (p.payment_methods or ()):
                return _finding(rule, "risk.payment_verification", method=subject.payment_method)
        case RuleKind.PROMOTION_APPROVE:
            if (
                subject.order_class in (p.order_classes or ())
                and p.amount is not None
                and subject.total <= p.amount
                and not subject.remote_area
            ):
                return _finding(rule, "risk.promotion_approve", amount=str(subject.total), limit=str(p.amount))
    return None


def evaluate(subject: Subject, history: History, rules: RuleSet) -> list[Finding]:
    """Every enabled rule that fires, with its evidence."""
    return [f for rule in rules.rules if rule.enabled and (f := _one(rule, subject, history)) is not None]


def decide(findings: Iterable[Finding]) -> Decision:
    """The strongest outcome wins; an "approve" finding waives plain "review" findings (but never a
    second review, a hold or a rejection)."""
    active = list(findings)
    approve = any(f.outcome == Outcome.APPROVE for f in active)
    counted = [f for f in active if not (approve and f.outcome == Outcome.REVIEW)]
    if not counted:
        return Decision(None, (), 0, 0, ())
    top = max(counted, key=lambda f: SEVERITY[f.outcome])
    outcome = top.outcome
    holds = tuple(dict.fromkeys(f.hold_reason for f in counted if f.outcome == Outcome.HOLD and f.hold_reason))
    levels = 2 if any(f.outcome == Outcome.SECOND_REVIEW for f in counted) else (
        1 if any(f.outcome in (Outcome.REVIEW, Outcome.HOLD) for f in counted) else 0
    )
    return Decision(
        outcome=outcome,
        hold_reasons=holds,
        levels=levels,
        score=sum(f.score for f in active),
        rules=tuple(f.rule for f in counted if SEVERITY[f.outcome] >= SEVERITY[Outcome.REVIEW]) or (top.rule,),
    )


def keys_of(values: Mapping[KeyKind, str | None]) -> dict[KeyKind, str]:
    """Digests of the normalised values that are present."""
    return {kind: digest(value) for kind, value in values.items() if value}
