"""Customer message templates per event and language (pure: values in, text out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("zh-CN", "en")

# template → language → (subject, body); bodies name every fact the customer needs.
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "confirmed": {
        "en": ("Order {order} confirmed", "Your order {order} is confirmed and being prepared."),
        "zh-CN": ("订单 {order} 已确认", "您的订单 {order} 已确认，正在备货。"),
    },
    "out_of_stock": {
        "en": ("Order {order}: item out of stock",
               "An item of your order {order} is out of stock. Reply to choose a substitute, waiting or a refund."),
        "zh-CN": ("订单 {order} 商品缺货", "您的订单 {order} 中有商品缺货，请回复选择替代商品、等待到货或取消退款。"),
    },
    "shipped": {
        "en": ("Order {order} shipped", "Your order {order} has shipped with {carrier}, tracking number {tracking}."),
        "zh-CN": ("订单 {order} 已发货", "您的订单 {order} 已由{carrier}发出，运单号 {tracking}。"),
    },
    "customs_cleared": {
        "en": ("Order {order} cleared customs", "Your order {order} ({tracking}) has cleared customs."),
        "zh-CN": ("订单 {order} 已清关", "您的订单 {order}（运单号 {tracking}）已完成清关。"),
    },
    "out_for_delivery": {
        "en": ("Order {order} out for delivery", "Your order {order} ({tracking}) is out for delivery today."),
        "zh-CN": ("订单 {order} 派送中", "您的订单 {order}（运单号 {tracking}）正在派送，请保持电话畅通。"),
    },
    "delivered": {
        "en": ("Order {order} delivered", "Your order {order} has been delivered. Thank you!"),
        "zh-CN": ("订单 {order} 已签收", "您的订单 {order} 已签收，感谢您的惠顾！"),
    },
    "under_review": {
        "en": ("Order {order} needs a manual review",
               "Your order {order} needs a short manual review before we ship it. We will contact you if needed."),
        "zh-CN": ("订单 {order} 需人工审核", "您的订单 {order} 需要人工审核后才能发货，如有需要我们会与您联系。"),
    },
    "delayed": {
        "en": ("Order {order} delayed", "Your order {order} is delayed. We are on it and will keep you informed."),
        "zh-CN": ("订单 {order} 延误", "很抱歉，您的订单 {order} 出现延误，我们正在处理并会及时通知您。"),
    },
    "cancelled": {
        "en": ("Order {order} cancelled", "Your order {order} has been cancelled. Any payment will be refunded."),
        "zh-CN": ("订单 {order} 已取消", "您的订单 {order} 已取消，已付款项将原路退回。"),
    },
    "refunded": {
        "en": ("Order {order} refunded", "A refund of {amount} {currency} for order {order} is on its way."),
        "zh-CN": ("订单 {order} 已退款", "订单 {order} 的退款 {amount} {currency} 已原路退回。"),
    },
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(template: str, language: str, params: Mapping[str, Any]) -> Rendered:
    """The message in ``language`` (en when the language is not available); a missing value shows
    as "-" rather than failing the command that reports the change."""
    texts = TEMPLATES[template]
    subject, body = texts.get(language, texts["en"])
    values = _Blank({k: "-" if v is None else v for k, v in params.items()})
    return Rendered(subject.format_map(values), body.format_map(values))
