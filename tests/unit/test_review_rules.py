"""Each review and risk rule as a pure function, with the edge cases the policies imply."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordo.order.rules import normalise_phone
from ordo.order.states import HoldReason
from ordo.policy import Policy, ReviewPolicy, RiskPolicy
from ordo.review.model import (
    BlacklistKind,
    Finding,
    History,
    KeyKind,
    Listed,
    Outcome,
    Prior,
    RuleKind,
    Subject,
)
from ordo.review.rules import (
    abusive_words,
    decide,
    default_rules,
    evaluate,
    is_virtual_operator,
    normalise_account,
    normalise_address,
    squash,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RULES = default_rules(Policy())
RISK = RiskPolicy()


def subject(**changes) -> Subject:
    values = dict(
        number="20261122020", at=NOW, total=Decimal("55.00"), order_class="normal", service_type="domestic_express",
        payment_method="alipay", remote_area=False, phone="+8613812345678", remark=None,
        skus=frozenset({"TEA-001"}), traits=frozenset(), keys={},
    )
    values.update(changes)
    return Subject(**values)


def fired(s: Subject, history: History = History()) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(s, history, RULES)}


# --- normalisation --------------------------------------------------------------------------------


def test_full_width_digits_and_spacing_in_a_phone_give_the_same_number():
    assert normalise_phone("１３８ １２３４ ５６７８", "CN")[0] == "+8613812345678"
    assert normalise_phone("+86 138-1234-5678", "CN")[0] == "+8613812345678"


def test_an_address_written_differently_normalises_the_same():
    a = normalise_address(country="CN", province="上海市", city="上海市", district="浦东新区",
                          street="世纪大道100号", policy=RISK)
    b = normalise_address(country="cn", province="上海", city="上海", district="浦东新", street="世纪大道 １００ 号",
                          policy=RISK)
    assert a == b == "cn|上海|上海|浦东新|世纪大道100号"
    en1 = normalise_address(country="US", province="CA", city="Los Angeles", district=None,
                            street="100 Main Street, Apartment 5", policy=RISK)
    en2 = normalise_address(country="US", province="ca", city="LOS  ANGELES", district=None,
                            street="100 main st. apt 5", policy=RISK)
    assert en1 == en2 == "us|ca|losangeles|100mainstapt5"


@given(st.text(max_size=40) | st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_squash_drops_separators_punctuation_symbols_and_controls_whatever_the_text(value):
    text = unicodedata.normalize("NFKC", value).casefold()
    assert squash(value) == "".join(ch for ch in text if unicodedata.category(ch)[0] not in "ZPSC")


def test_squash_of_every_ascii_character_and_of_mixed_text():
    letters = "abcdefghijklmnopqrstuvwxyz"
    assert squash("".join(chr(c) for c in range(128))) == "0123456789" + letters + letters  # A-Z folded, a-z
    assert squash(" Ｒｏｏｍ-12，上海 市!\t") == "room12上海市"
    # A policy whose suffixes change is worked out afresh (the squashed lists are cached per policy).
    custom = RiskPolicy(address_suffixes=("新区",), address_synonyms={"lane": "ln"})
    assert normalise_address(country="CN", province=None, city="上海市", district="浦东新区", street="Long Lane 5",
                             policy=custom) == "cn|上海市|浦东|longln5"


def test_different_house_numbers_stay_different():
    a = normalise_address(country="CN", province="上海市", city="上海市", district="浦东新区", street="世纪大道100号",
                          policy=RISK)
    b = normalise_address(country="CN", province="上海市", city="上海市", district="浦东新区", street="世纪大道101号",
                          policy=RISK)
    assert a != b


def test_accounts_are_per_channel_and_fall_back_to_the_customer():
    assert normalise_account("marketplace", " Buyer_ＡＢＣ ", 7) == "marketplace:buyerabc"
    assert normalise_account("web", None, 7) == "customer:7"


@pytest.mark.parametrize(
    ("phone", "virtual"),
    [("+8617012345678", True), ("+8616212345678", True), ("+8616712345678", True),
     ("+8613812345678", False), ("+8616612345678", False), ("+11705551234", False), (None, False)],
)
def test_virtual_operator_ranges(phone, virtual):
    assert is_virtual_operator(phone, RISK.virtual_operator_prefixes) is virtual


def test_abusive_words_match_through_full_width_case_and_spacing():
    assert abusive_words("再不发货就 杀 了 你！", RISK.abusive_words) == ["杀了你"]
    assert abusive_words("ＦＵＣＫ this shop", RISK.abusive_words) == ["fuck"]
    assert abusive_words("I will K i l l   you", RISK.abusive_words) == ["kill you"]
    assert abusive_words("请尽快发货，谢谢", RISK.abusive_words) == []
    assert abusive_words(None, RISK.abusive_words) == []


# --- duplicates -----------------------------------------------------------------------------------


def prior(kind: KeyKind, number: str, ago: timedelta, skus=("TEA-001",), live=True) -> Prior:
    return Prior(kind=kind, number=number, at=NOW - ago, live=live, skus=frozenset(skus))


def test_duplicate_exactly_30_minutes_apart_is_inside_the_window():
    found = fired(subject(), History(priors=(prior(KeyKind.ACCOUNT, "20261122007", timedelta(minutes=30)),)))
    dup = found["duplicate"]
    assert (dup.outcome, dup.hold_reason, dup.message) == (Outcome.HOLD, HoldReason.DUPLICATE_SUSPECTED,
                                                           "risk.duplicate")
    assert dup.evidence == {"by": "account", "window": "30 min", "orders": "20261122007", "skus": "TEA-001"}
    assert dup.related == ("20261122007",)


def test_duplicate_lists_the_earlier_orders_as_they_were_handed_out_also_past_serial_999():
    history = History(priors=tuple(prior(KeyKind.ACCOUNT, n, timedelta(minutes=5))
                                   for n in ("20261122001", "202611211000", "20261121999")))
    dup = fired(subject(), history)["duplicate"]
    assert dup.related == ("20261121999", "202611211000", "20261122001")
    assert dup.evidence["orders"] == "20261121999, 202611211000, 20261122001"


def test_duplicate_one_second_past_30_minutes_is_not():
    history = History(priors=(prior(KeyKind.ACCOUNT, "20261122007", timedelta(minutes=30, seconds=1)),))
    assert "duplicate" not in fired(subject(), history)


def test_duplicate_needs_the_same_sku_and_a_live_order():
    other_sku = History(priors=(prior(KeyKind.ADDRESS, "20261122007", timedelta(minutes=5), skus=()),))
    cancelled = History(priors=(prior(KeyKind.ADDRESS, "20261122007", timedelta(minutes=5), live=False),))
    assert "duplicate" not in fired(subject(), other_sku)
    assert "duplicate" not in fired(subject(), cancelled)
    by_address = fired(subject(), History(priors=(prior(KeyKind.ADDRESS, "20261122008", timedelta(minutes=5)),)))
    assert by_address["duplicate"].evidence["by"] == "address"


# --- same contact ---------------------------------------------------------------------------------


def test_third_order_from_one_phone_in_24_hours_is_intercepted_with_the_order_numbers():
    history = History(priors=(
        prior(KeyKind.PHONE, "20261122007", timedelta(hours=23), skus=()),
        prior(KeyKind.PHONE, "20261122011", timedelta(hours=2), skus=()),
    ))
    f = fired(subject(number="20261122019"), history)["same_contact"]
    assert (f.outcome, f.hold_reason, f.notify_customer) == (Outcome.HOLD, HoldReason.RISK_INTERCEPTED, True)
    assert f.message == "risk.same_phone"
    assert f.evidence == {"count": 3, "window": "24 h", "orders": "20261122007, 20261122011, 20261122019"}
    assert f.related == ("20261122007", "20261122011")  # the earlier ones, not the order itself


def test_second_order_or_one_outside_the_window_is_not_intercepted():
    two = History(priors=(prior(KeyKind.PHONE, "20261122007", timedelta(hours=1), skus=()),))
    old = History(priors=(
        prior(KeyKind.PHONE, "20261122007", timedelta(hours=24, seconds=1), skus=()),
        prior(KeyKind.PHONE, "20261122011", timedelta(hours=1), skus=()),
    ))
    assert "same_contact" not in fired(subject(), two)
    assert "same_contact" not in fired(subject(), old)


def test_same_address_counts_like_the_same_phone():
    history = History(priors=(
        prior(KeyKind.ADDRESS, "20261122001", timedelta(hours=3), skus=()),
        prior(KeyKind.ADDRESS, "20261122002", timedelta(hours=1), skus=()),
    ))
    assert fired(subject(), history)["same_contact"].message == "risk.same_address"


# --- the other rules ------------------------------------------------------------------------------


def test_frequent_cancel_and_reorder_is_flagged_for_review():
    history = History(priors=tuple(
        prior(KeyKind.CANCEL, f"2026112200{i}", timedelta(days=i), skus=()) for i in (1, 2, 6)
    ))
    f = fired(subject(), history)["cancel_reorder"]
    assert (f.outcome, f.evidence["count"], f.evidence["window"]) == (Outcome.REVIEW, 3, "7 d")
    assert f.related == ("20261122001", "20261122002", "20261122006")
    fewer = History(priors=(*history.priors[:2], prior(KeyKind.CANCEL, "20261122009", timedelta(days=8), skus=())))
    assert "cancel_reorder" not in fired(subject(), fewer)


def test_blacklist_rejects_and_names_the_reason():
    history = History(blacklisted=(Listed(kind=BlacklistKind.PHONE, reason="fraud", entry_id=4),))
    f = fired(subject(), history)["blacklist"]
    assert (f.outcome, f.evidence) == (Outcome.REJECT, {"what": "phone", "reason": "fraud", "entry": 4})


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"total": Decimal("5000.01")}, "amount 5000.01 > 5000"),
        ({"service_type": "overseas_warehouse"}, "service overseas_warehouse"),
        ({"traits": frozenset({"bulky"})}, "goods bulky"),
    ],
)
def test_second_review_for_special_service_or_large_amount(changes, why):
    f = fired(subject(**changes))["second_review"]
    assert (f.outcome, f.evidence) == (Outcome.SECOND_REVIEW, {"why": why})


def test_amount_equal_to_the_threshold_needs_no_second_review():
    assert "second_review" not in fired(subject(total=Decimal("5000.00")))


def test_promotion_rule_waives_plain_review_but_not_holds():
    cod = subject(order_class="promotion", payment_method="cash_on_delivery", total=Decimal("99.00"))
    found = fired(cod)
    assert set(found) == {"payment_verification", "promotion_approve"}
    assert decide(found.values()).clear
    assert not decide(fired(subject(order_class="promotion", payment_method="cash_on_delivery",
                                    total=Decimal("100.01"))).values()).clear
    remote = fired(subject(order_class="promotion", total=Decimal("50"), remote_area=True))
    assert set(remote) == {"remote_address"}
    abusive = fired(subject(order_class="promotion", total=Decimal("50"), remark="骗子"))
    decision = decide(abusive.values())
    assert (decision.outcome, decision.hold_reasons) == (Outcome.HOLD, (HoldReason.RISK_INTERCEPTED,))


def test_decision_takes_the_strongest_outcome_and_adds_scores():
    found = fired(subject(phone="+8617012345678", remark="傻逼", payment_method="cash_on_delivery",
                          total=Decimal("6000")))
    decision = decide(found.values())
    assert decision.outcome == Outcome.HOLD
    assert decision.levels == 2
    assert decision.score == 50 + 20 + 0 + 0
    assert decision.rules == ("abusive_remark", "virtual_phone", "second_review", "payment_verification")
    assert decide([]).outcome is None and decide([]).clear


def test_default_rules_take_their_numbers_from_the_policy():
    policy = Policy(risk=RiskPolicy(duplicate_window=timedelta(minutes=45), same_contact_order_count=5),
                    review=ReviewPolicy(second_review_amount=Decimal("8000")))
    rules = default_rules(policy)
    assert rules.version == 0
    assert rules.get("duplicate").params.window == timedelta(minutes=45)
    assert rules.get("same_contact").params.count == 5
    assert rules.get("second_review").params.amount == Decimal("8000")
    assert sorted(r.kind for r in rules.rules) == sorted(RuleKind)


def test_a_disabled_rule_does_not_fire():
    rules = default_rules(Policy())
    off = type(rules)(version=3, rules=tuple(
        r.model_copy(update={"enabled": False}) if r.code == "remote_address" else r for r in rules.rules
    ))
    assert evaluate(subject(remote_area=True), History(), off) == []
