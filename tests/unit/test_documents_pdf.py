"""The PDF renderers, looked at as a person would: pages turned into images, barcodes read back, the
text a reader extracts, and Chinese glyphs compared with the same font drawn by FreeType."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import reportlab
import zxingcpp
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from ordo.documents.model import (
    ConfirmationLine,
    ExpectedTime,
    LabelDoc,
    OrderConfirmationDoc,
    PackingSlipDoc,
    Party,
    PickListDoc,
    PickStop,
    SlipLine,
)
from ordo.documents.pdf import (
    default_font_path,
    load_font,
    render_confirmation,
    render_label,
    render_packing_slip,
    render_pick_list,
    wrap,
)
from ordo.kernel.errors import Unavailable
from ordo.kernel.i18n import translate
from ordo.settings import Settings
from tests import pdfcheck

AT = datetime(2026, 3, 15, 10, 0)
RECIPIENT = Party(name="张伟", phone="+8613812345678", address=("上海市 上海市 浦东新区", "世纪大道100号"),
                  country="CN", postcode="200120")
LABEL = LabelDoc(
    shipment="20260315001-1", order="20260315001", carrier="sf", carrier_name="SF Express",
    tracking_number="SF1234567890", service_type="国内快递 Domestic express",
    sender=Party(name="上海仓 WH-SH", phone=None, address=("上海",), country="CN"), recipient=RECIPIENT,
    parcels=1, chargeable_weight_kg=Decimal("1.000"), printed_at=AT,
)
CONFIRMATION = OrderConfirmationDoc(
    number="20260315001", issued_at=datetime(2026, 3, 15, 10, 5), placed_at=AT, shop="官网商城",
    customer=RECIPIENT, email="zhang.wei@example.cn",
    lines=(ConfirmationLine("TEA-001", "西湖龙井", 2, Decimal("25.00"), Decimal("50.00")),),
    service_type="国内快递 Domestic express", order_class="normal", payment_method="alipay", payment_status="paid",
    currency="CNY", goods_total=Decimal("50.00"), shipping_fee=Decimal("10.00"), discounts=Decimal("5.00"),
    total=Decimal("55.00"), amount_paid=Decimal("55.00"),
    expected=(ExpectedTime("ship_normal", "预计发货 Ships by", datetime(2026, 3, 16, 10, 0)),),
    query_hint="订单查询 Track your order: GET /api/v1/track/20260315001", timezone="Asia/Shanghai",
)


@pytest.fixture(scope="module")
def font():
    return load_font()


def chinese_glyphs_match(pdf: bytes, value: str, size_pt: float, font) -> tuple[float, float, float]:
    """How much the ink where ``value`` was drawn looks like the font's glyphs for it, like another
    Chinese string, and like empty boxes (tofu)."""
    drawn = pdfcheck.image(pdf).crop(pdfcheck.box_of(pdf, value))
    px = round(size_pt * pdfcheck.SCALE)
    same = pdfcheck.likeness(drawn, pdfcheck.drawn(value, str(font.path), font.index, px))
    other = pdfcheck.likeness(drawn, pdfcheck.drawn("李娜", str(font.path), font.index, px))
    boxes = pdfcheck.likeness(drawn, pdfcheck.tofu(len(value), px))
    return same, other, boxes


def test_the_default_font_is_the_packaged_chinese_truetype_collection(font):
    assert default_font_path() is not None
    assert font.path == default_font_path()
    assert font.path.name == "wqy-microhei.ttc"
    assert font.index == 0


def test_label_page_is_exactly_100_by_150_mm(font):
    pdf = render_label(LABEL, font)
    width, height = pdfcheck.page_size_pt(pdf)
    assert pdfcheck.pages(pdf) == 1
    assert width == pytest.approx(100 * mm, abs=0.01)
    assert height == pytest.approx(150 * mm, abs=0.01)


def test_label_barcodes_read_back_as_the_tracking_number_and_shipment(font):
    pdf = render_label(LABEL, font)
    found = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(pdfcheck.image(pdf))}
    assert found == {("Code128", "SF1234567890"), ("QRCode", "SF1234567890;20260315001-1")}


def test_label_recipient_name_is_drawn_in_the_fonts_chinese_glyphs(font):
    pdf = render_label(LABEL, font)
    same, other, boxes = chinese_glyphs_match(pdf, "张伟", 16, font)
    assert same > 0.8
    assert other < 0.5
    assert boxes < 0.5


def test_label_text_can_be_extracted(font):
    text = pdfcheck.text(render_label(LABEL, font))
    for expected in ("SF Express", "SF1234567890", "张伟", "+8613812345678", "上海市 上海市 浦东新区 世纪大道100号",
                     "200120 CN", "订单 Order 20260315001", "包裹 Shipment 20260315001-1", "件数 Parcels 1",
                     "计费重 Weight 1.000 kg", "打印 Printed 2026-03-15 10:00", "上海仓 WH-SH"):
        assert expected in text, expected


def test_label_long_address_is_wrapped_inside_the_label(font):
    long_street = "世纪大道100号" * 8
    doc = replace(LABEL, recipient=replace(RECIPIENT, address=(long_street,)))
    pdf = render_label(doc, font)
    lines = wrap(long_street, font.name, 10, 90 * mm)
    assert len(lines) > 1
    assert all(stringWidth(line, font.name, 10) <= 90 * mm for line in lines)
    assert "".join(lines) == long_street
    assert lines[0] in pdfcheck.text(pdf)


def test_wrap_breaks_at_spaces_where_there_are_some(font):
    width = max(stringWidth(x, font.name, 10) for x in ("Room 1203", "Building 5", "Long Street")) + 1
    assert wrap("Room 1203 Building 5 Long Street", font.name, 10, width) == ["Room 1203", "Building 5", "Long Street"]


def test_pick_list_prints_the_stops_in_route_order_with_the_route_length(font):
    # Given a pick list whose route visits bins in an order that is not their alphabetical order
    bins = ["C-03-L", "A-01-R", "B-07-L"] * 15
    stops = tuple(
        PickStop(seq=i, bin=f"{b}{i:02d}", sku=f"SKU-{i:02d}", name=f"绿茶 {i}", quantity=i % 3 + 1,
                 shipment=f"20260315{i:03d}-1")
        for i, b in enumerate(bins, 1)
    )
    doc = PickListDoc(number="PL-20260315-001", warehouse="WH-SH", picker="李娜", route_length_m=123.45,
                      created_at=AT, stops=stops)
    # When it is printed
    pdf = render_pick_list(doc, font)
    text = pdfcheck.text(pdf)
    # Then every stop appears, in the given order, over two pages, with the route length and totals
    assert pdfcheck.pages(pdf) == 2
    positions = [text.index(s.bin) for s in stops]
    assert positions == sorted(positions)
    for expected in ("拣货单 Pick list PL-20260315-001", "WH-SH", "李娜", "123.5 m", "45 / 90", "20260315045-1"):
        assert expected in text, expected
    assert text.count("货位 Bin") == 2  # the header row repeats on the second page
    found = {r.text for r in zxingcpp.read_barcodes(pdfcheck.image(pdf))}
    assert found == {"PL-20260315-001"}


def test_packing_slip_lists_goods_recipient_and_packing_instructions(font):
    doc = PackingSlipDoc(shipment="20260315001-1", order="20260315001", warehouse="上海仓 WH-SH", recipient=RECIPIENT,
                         lines=(SlipLine("TEA-001", "西湖龙井", 2), SlipLine("MUG-002", "马克杯", 1)),
                         instructions=("cushioning", '"fragile" label'), printed_at=AT, remark="请轻放 <b>")
    pdf = render_packing_slip(doc, font)
    text = pdfcheck.text(pdf)
    for expected in ("装箱单 Packing slip", "20260315001-1", "20260315001", "上海仓 WH-SH", "张伟 +8613812345678",
                     "TEA-001", "西湖龙井", "MUG-002", "马克杯", "合计 Total", "• cushioning", '• "fragile" label',
                     "请轻放 <b>"):
        assert expected in text, expected
    assert {r.text for r in zxingcpp.read_barcodes(pdfcheck.image(pdf))} == {"20260315001-1"}


def test_confirmation_has_what_policy_002_asks_for(font):
    pdf = render_confirmation(CONFIRMATION, font)
    text = pdfcheck.text(pdf)
    assert pdfcheck.pages(pdf) == 1
    for expected in (
        "客户订单确认单 Customer order confirmation", "订单号 Order number 20260315001",
        "张伟", "+8613812345678", "zhang.wei@example.cn", "上海市 上海市 浦东新区 世纪大道100号 200120 CN",
        "TEA-001", "西湖龙井", "CNY 25.00", "CNY 50.00",
        "国内快递 Domestic express", "normal", "alipay (paid)",
        "CNY 10.00", "-CNY 5.00", "CNY 55.00",
        "预计发货 Ships by", "2026-03-16 10:00", "Asia/Shanghai",
        "GET /api/v1/track/20260315001",
    ):
        assert expected in text, expected


def test_confirmation_customer_name_is_drawn_in_chinese_glyphs(font):
    pdf = render_confirmation(CONFIRMATION, font)
    same, other, boxes = chinese_glyphs_match(pdf, "西湖龙井", 9.5, font)
    assert same > 0.7
    assert other < 0.5
    assert boxes < 0.5


def test_rendering_is_deterministic(font):
    assert render_label(LABEL, font) == render_label(LABEL, font)


def test_a_missing_font_file_is_a_clear_configuration_error(tmp_path):
    missing = tmp_path / "nope.ttf"
    with pytest.raises(Unavailable) as caught:
        load_font(missing)
    assert caught.value.status == 503
    assert translate(caught.value.key, "en", caught.value.params) == (
        f"The PDF font {missing} cannot be used (no such file): set ORDO_PDF_FONT to a TrueType font (.ttf or "
        ".ttc) with Chinese glyphs, or install the package paperang-p2-fonts-cjk."
    )


def test_a_file_that_is_no_font_is_refused(tmp_path):
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font at all")
    with pytest.raises(Unavailable) as caught:
        load_font(junk)
    assert caught.value.params["why"].startswith("not a usable TrueType font")


def test_a_font_without_chinese_glyphs_is_refused():
    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    with pytest.raises(Unavailable) as caught:
        load_font(vera)
    assert caught.value.params == {"path": str(vera), "why": "it has no Chinese glyphs"}


def test_the_font_is_configured_by_ordo_pdf_font(monkeypatch, tmp_path):
    monkeypatch.setenv("ORDO_PDF_FONT", str(tmp_path / "font.ttc"))
    monkeypatch.setenv("ORDO_PDF_FONT_INDEX", "1")
    settings = Settings()
    assert (settings.pdf_font, settings.pdf_font_index) == (tmp_path / "font.ttc", 1)
    monkeypatch.delenv("ORDO_PDF_FONT")
    assert Settings().pdf_font is None
