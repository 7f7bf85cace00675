"""Language negotiation and the message catalogue."""

from __future__ import annotations

import string

import pytest

from ordo.kernel.i18n import LOCALES, MESSAGES, negotiate, translate, zh_word


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr, zh;q=0.5", "zh-CN"),
        ("zh;q=0, en", "en"),
        ("en;q=0.5, zh;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("zh; q=0.3, en; q=0.7", "en"),
        ("en;q=0.0, zh", "zh-CN"),
    ],
)
def test_negotiate_picks_the_best_supported_language(header, expected):
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    "header", ["", None, "fr", "de-DE, fr;q=0.8", "*", "!!!", ";;;,,,", "q=abc", "\x00\xff", "zh;q=0"]
)
def test_negotiate_falls_back_to_the_default(header):
    assert (negotiate(header), negotiate(header, default="zh-CN")) == ("en", "zh-CN")


def test_a_malformed_quality_counts_as_not_acceptable():
    assert (negotiate("zh;q=abc, en;q=0.1"), negotiate("zh;q=, en;q=0.1")) == ("en", "en")


def test_translate_fills_the_parameters():
    params = {"path": "lines[0].quantity", "max": 10000, "value": 10001}
    assert translate("quantity_too_large", "en", params) == (
        "lines[0].quantity: quantity is at most 10000 per line, got 10001."
    )
    assert translate("quantity_too_large", "zh-CN", params) == "lines[0].quantity：每行数量最多 10000，实际为 10001。"


def test_translate_with_missing_parameters_leaves_their_names():
    assert translate("not_found", "en") == "{kind} {ident} not found."
    assert translate("not_found", "zh-CN", {"kind": "订单"}) == "未找到订单 {ident}。"
    assert translate("invalid_type", "zh-CN", {"path": "total"}) == "total 必须是。"


def test_translate_does_not_format_parameter_values_again():
    assert translate("required", "en", {"path": "{kind}"}) == "{kind} is required."


def test_translate_unknown_key_or_locale():
    assert translate("no_such_key", "en", {"path": "x"}) == "no_such_key"
    assert translate("required", "fr", {"path": "shop"}) == "shop is required."


def test_zh_helper_placeholders_translate_the_english_word():
    params = {"value": "intl_air", "trait": "liquid", "skus": "OIL-004"}
    assert translate("service_type_goods", "zh-CN", params) == "service_type：“intl_air”不承运液体商品（OIL-004）。"
    assert translate("invalid_type", "zh-CN", {"path": "total", "expected": "a decimal number"}) == "total 必须是数字。"
    assert (zh_word("domestic"), zh_word("unheard-of")) == ("国内", "unheard-of")


def _placeholders(template: str) -> set[str]:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    return {name.removesuffix("_zh") for name in names}


def test_every_message_exists_in_every_locale():
    assert LOCALES == ("en", "zh-CN")
    incomplete = sorted(key for key, entry in MESSAGES.items() if set(entry) != set(LOCALES) or not all(entry.values()))
    assert incomplete == []


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_use_the_same_placeholders(key):
    entry = MESSAGES[key]
    assert _placeholders(entry["zh-CN"]) == _placeholders(entry["en"])


def test_placeholder_comparison_sees_a_difference():
    # Guards the helper above: a dropped or renamed placeholder is noticed, a *_zh one is not.
    assert _placeholders("{path} got {value}") != _placeholders("{path}")
    assert _placeholders("{scope_zh} {country}") == _placeholders("{scope} {country}")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("zh;level=1;q=0, en", "en"), ("zh;q=nan, en;q=0.1", "en"), ("en;q=2, zh;q=0.5", "zh-CN")],
)
def test_q_values_after_other_parameters_and_out_of_range(header, expected):
    assert negotiate(header) == expected
