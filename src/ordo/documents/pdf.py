"""PDF renderers: a document value in, the bytes of a PDF out (reportlab).

Everything is set in one TrueType font with Chinese glyphs (``ORDO_PDF_FONT``, by default WenQuanYi
Micro Hei from the ``paperang-p2-fonts-cjk`` package): reportlab's built-in fonts have no Chinese,
and a missing glyph would print as an empty box. The font is embedded as a subset, with a Unicode
map, so the text can be searched and copied. Labels are bilingual (zh-CN and en) because a label or
a slip is read by whoever holds it, not by the caller who printed it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError

from ordo.documents.model import LabelDoc, OrderConfirmationDoc, PackingSlipDoc, Party, PickListDoc
from ordo.kernel.errors import Unavailable

LABEL_SIZE = (100 * mm, 150 * mm)
DEFAULT_FONT_PACKAGE = "paperang_p2_fonts_cjk"
# A character every Chinese font has; a font without it cannot print Chinese names.
_CJK_PROBE = "中"


@dataclass(frozen=True)
class DocumentFont:
    """A TrueType font registered with reportlab under ``name``."""

    name: str
    path: Path
    index: int


def default_font_path() -> Path | None:
    if importlib.util.find_spec(DEFAULT_FONT_PACKAGE) is None:
        return None
    return Path(str(files(DEFAULT_FONT_PACKAGE) / "fonts" / "wqy-microhei.ttc"))


@cache
def load_font(path: Path | None = None, index: int = 0) -> DocumentFont:
    """Register the font once per process. A missing or unusable font is a configuration error
    (503) that names the file and what to do, never a PDF with empty boxes."""
    if path is None:
        path = default_font_path()
        if path is None:
            raise Unavailable("pdf_font_missing", path=DEFAULT_FONT_PACKAGE, why="package not installed")
    if not path.is_file():
        raise Unavailable("pdf_font_missing", path=str(path), why="no such file")
    name = "Ordo-" + hashlib.sha256(f"{path.resolve()}#{index}".encode()).hexdigest()[:12]
    try:
        font = TTFont(name, str(path), subfontIndex=index)
    except Exception as exc:  # reportlab raises TTFError, struct and index errors for a bad file
        raise Unavailable("pdf_font_missing", path=str(path), why=f"not a usable TrueType font: {exc}") from None
    if ord(_CJK_PROBE) not in font.face.charToGlyph:
        raise Unavailable("pdf_font_missing", path=str(path), why="it has no Chinese glyphs")
    pdfmetrics.registerFont(font)
    return DocumentFont(name=name, path=path, index=index)


# --- shared pieces --------------------------------------------------------------------------------


def _time(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount}"


def _styles(font: DocumentFont) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font.name, fontSize=9.5, leading=13, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=colors.HexColor("#444444")),
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22, spaceAfter=4),
        "heading": ParagraphStyle("heading", parent=base, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3),
        "big": ParagraphStyle("big", parent=base, fontSize=14, leading=18),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph reads a little markup; data (names, addresses, remarks) must print as typed.
    return Paragraph(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), style)


def _barcode(value: str, *, width: float, height: float) -> code128.Code128:
    """A Code128 barcode at most ``width`` wide, quiet zones included: bars as wide as fit, up to
    0.5 mm (wide bars scan from further away; the width limit keeps long numbers on the label)."""
    probe = code128.Code128(value, barWidth=1, quiet=True, humanReadable=False)
    bar = min(0.5 * mm, width / probe.width)
    return code128.Code128(value, barWidth=bar, barHeight=height, quiet=True, humanReadable=False)


def qr_drawing(value: str, size: float) -> Drawing:
    widget = qr.QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)


def _grid(
    rows: list[list[object]], widths: Sequence[float], font: DocumentFont, *, right: Sequence[int] = ()
) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    style = TableStyle(
        [*_GRID.getCommands(), ("FONTNAME", (0, 0), (-1, -1), font.name), ("FONTSIZE", (0, 0), (-1, -1), 9.5)]
    )
    for col in right:
        style.add("ALIGN", (col, 0), (col, -1), "RIGHT")
    table.setStyle(style)
    return table


def _pairs(rows: list[tuple[str, str]], s: dict[str, ParagraphStyle], widths: tuple[float, float]) -> Table:
    table = Table([[_p(k, s["small"]), _p(v, s["base"])] for k, v in rows], colWidths=list(widths), hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _address(party: Party) -> str:
    tail = " ".join(x for x in (party.postcode, party.country) if x)
    return " ".join([*party.address, tail]).strip()


def _a4(story: list[Flowable], *, title: str, footer: str, font: DocumentFont) -> bytes:
    buffer = io.BytesIO()

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"{doc.page}")
        canvas.restoreState()

    template = SimpleDocTemplate(
        buffer, pagesize=A4, title=title, author="Ordo", invariant=True,
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=18 * mm,
    )
    template.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()


_BODY = A4[0] - 36 * mm


# --- pick list -----------------------------------------------------------------------------------


def render_pick_list(doc: PickListDoc, font: DocumentFont) -> bytes:
    """The stops in route order, with bin, SKU, name, quantity and shipment, and the route length."""
    s = _styles(font)
    story: list[Flowable] = [
        _p(f"拣货单 Pick list  {doc.number}", s["title"]),
        _barcode(doc.number, width=80 * mm, height=12 * mm),
        Spacer(1, 3 * mm),
        _pairs(
            [
                ("仓库 Warehouse", doc.warehouse),
                ("拣货员 Picker", doc.picker or "-"),
                ("创建 Created", _time(doc.created_at)),
                ("路线长度 Route length", f"{doc.route_length_m:.1f} m"),
                ("货位 Stops / 件数 Items", f"{len(doc.stops)} / {doc.total_quantity}"),
            ],
            s, (40 * mm, _BODY - 40 * mm),
        ),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[object]] = [
        [_p(h, s["small"]) for h in ("#", "货位 Bin", "SKU", "品名 Name", "数量 Qty", "包裹 Shipment", "已拣 Done")]
    ]
    rows += [
        [str(stop.seq), _p(stop.bin, s["base"]), _p(stop.sku, s["base"]), _p(stop.name, s["base"]),
         str(stop.quantity), _p(stop.shipment, s["small"]), ""]
        for stop in doc.stops
    ]
    story.append(_grid(rows, [9 * mm, 22 * mm, 27 * mm, 46 * mm, 17 * mm, 34 * mm, 17 * mm], font, right=(4,)))
    return _render(story, title=f"Pick list {doc.number}", footer=f"Ordo · {doc.number} · {doc.warehouse}", font=font)


def _render(story: list[Flowable], *, title: str, footer: str, font: DocumentFont) -> bytes:
    try:
        return _a4(story, title=title, footer=footer, font=font)
    except LayoutError as exc:  # a single cell taller than a page: data no document can hold
        raise ValueError(f"{title}: {exc}") from None


# --- packing slip --------------------------------------------------------------------------------


def render_packing_slip(doc: PackingSlipDoc, font: DocumentFont) -> bytes:
    """Order number, product, specification and quantity (policy: packing), the recipient and the
    packing instructions for the goods' traits."""
    s = _styles(font)
    story: list[Flowable] = [
        _p("装箱单 Packing slip", s["title"]),
        _barcode(doc.shipment, width=80 * mm, height=12 * mm),
        Spacer(1, 3 * mm),
        _pairs(
            [
                ("订单号 Order", doc.order),
                ("包裹 Shipment", doc.shipment),
                ("仓库 Warehouse", doc.warehouse),
                ("打印 Printed", _time(doc.printed_at)),
                ("收件人 Recipient", " ".join(x for x in (doc.recipient.name, doc.recipient.phone) if x)),
                ("地址 Address", _address(doc.recipient)),
            ],
            s, (34 * mm, _BODY - 34 * mm),
        ),
        Spacer(1, 4 * mm),
    ]
    headings = ("#", "SKU", "品名 / 规格 Name", "数量 Qty", "核对 Checked")
    rows: list[list[object]] = [[_p(h, s["small"]) for h in headings]]
    rows += [
        [str(i), _p(line.sku, s["base"]), _p(line.name, s["base"]), str(line.quantity), ""]
        for i, line in enumerate(doc.lines, 1)
    ]
    rows.append(["", "", _p("合计 Total", s["small"]), str(sum(line.quantity for line in doc.lines)), ""])
    story.append(_grid(rows, [9 * mm, 32 * mm, 84 * mm, 19 * mm, 30 * mm], font, right=(3,)))
    if doc.instructions:
        story.append(_p("包装要求 Packing instructions", s["heading"]))
        story += [_p(f"• {item}", s["base"]) for item in doc.instructions]
    if doc.remark:
        story += [_p("备注 Remark", s["heading"]), _p(doc.remark, s["base"])]
    return _render(story, title=f"Packing slip {doc.shipment}", footer=f"Ordo · {doc.order} · {doc.shipment}",
                   font=font)


# --- shipping label ------------------------------------------------------------------------------


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking by measured width: at a space where there is one, else between any two
    characters (Chinese addresses have no spaces)."""
    lines: list[str] = []
    current = ""
    for char in text:
        candidate = current + char
        if pdfmetrics.stringWidth(candidate, font, size) <= width or not current:
            current = candidate
            continue
        cut = current.rfind(" ")
        if cut > 0 and char != " ":
            lines.append(current[:cut])
            current = current[cut + 1:] + char
        else:
            lines.append(current.rstrip())
            current = char.lstrip()
    if current.strip():
        lines.append(current.strip())
    return lines


def render_label(doc: LabelDoc, font: DocumentFont) -> bytes:
    """One 100 × 150 mm page: carrier and service, the tracking number as Code128, recipient,
    sender, order and shipment numbers, parcels and weight, and a QR code (tracking;shipment)."""
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=LABEL_SIZE, invariant=True)
    c.setTitle(f"Label {doc.tracking_number}")
    c.setAuthor("Ordo")
    width, height = LABEL_SIZE
    left, inner = 5 * mm, width - 10 * mm

    def rule(y: float) -> None:
        c.setLineWidth(0.8)
        c.line(left, y, width - left, y)

    def text(x: float, y: float, value: str, size: float) -> None:
        c.setFont(font.name, size)
        c.drawString(x, y, value)

    def block(y: float, value: str, size: float, *, max_lines: int, indent: float = 0) -> float:
        for line in wrap(value, font.name, size, inner - indent)[:max_lines]:
            y -= size * 1.25
            text(left + indent, y, line, size)
        return y

    # Carrier and service.
    top = height - 5 * mm
    text(left, top - 13, doc.carrier_name, 13)
    c.setFont(font.name, 8)
    c.drawRightString(width - left, top - 12, doc.service_type)
    rule(top - 18)
    # Tracking number: the barcode a hub scans.
    barcode = _barcode(doc.tracking_number, width=inner, height=20 * mm)
    barcode.drawOn(c, (width - barcode.width) / 2, top - 18 - 3 * mm - 20 * mm)
    y = top - 18 - 3 * mm - 20 * mm - 4.5 * mm
    c.setFont(font.name, 11)
    c.drawCentredString(width / 2, y, doc.tracking_number)
    y -= 3 * mm
    rule(y)
    # Recipient.
    text(left, y - 9, "收件人 TO", 7.5)
    y -= 10
    y = block(y, doc.recipient.name, 16, max_lines=2)
    if doc.recipient.phone:
        y = block(y, doc.recipient.phone, 10, max_lines=1)
    y = block(y, " ".join(doc.recipient.address), 10, max_lines=4)
    y = block(y, " ".join(x for x in (doc.recipient.postcode, doc.recipient.country) if x), 10, max_lines=1)
    y -= 2 * mm
    rule(y)
    # Sender.
    text(left, y - 9, "寄件人 FROM", 7.5)
    y -= 10
    y = block(y, " ".join(x for x in (doc.sender.name, doc.sender.phone) if x), 8.5, max_lines=1)
    y = block(y, _address(doc.sender), 8, max_lines=2)
    y -= 2 * mm
    rule(y)
    # Numbers, parcels and weight beside the QR code.
    qr_size = 30 * mm
    renderPDF.draw(qr_drawing(doc.qr_payload, qr_size), c, width - left - qr_size, 4 * mm)
    facts = [
        f"订单 Order {doc.order}",
        f"包裹 Shipment {doc.shipment}",
        f"件数 Parcels {doc.parcels}",
        "计费重 Weight " + (f"{doc.chargeable_weight_kg} kg" if doc.chargeable_weight_kg is not None else "-"),
        f"打印 Printed {_time(doc.printed_at)}",
    ]
    fy = 4 * mm + qr_size - 8
    for fact in facts:
        for line in wrap(fact, font.name, 7.5, inner - qr_size - 2 * mm)[:2]:
            text(left, fy, line, 7.5)
            fy -= 9.5
    c.showPage()
    c.save()
    return buffer.getvalue()


# --- customer order confirmation -----------------------------------------------------------------


def render_confirmation(doc: OrderConfirmationDoc, font: DocumentFont) -> bytes:
    """The customer order confirmation (002): order number, customer, goods, service, charges and
    expected times, and how to follow the order."""
    s = _styles(font)
    money = doc.currency
    story: list[Flowable] = [
        _p("客户订单确认单 Customer order confirmation", s["title"]),
        _p(f"订单号 Order number  {doc.number}", s["big"]),
        Spacer(1, 2 * mm),
        _pairs(
            [("下单 Placed", _time(doc.placed_at)), ("确认单日期 Issued", _time(doc.issued_at)),
             ("店铺 Shop", doc.shop), ("时区 Times in", doc.timezone)],
            s, (34 * mm, _BODY - 34 * mm),
        ),
        _p("客户信息 Customer", s["heading"]),
        _pairs(
            [("姓名 Name", doc.customer.name), ("电话 Phone", doc.customer.phone or "-"),
             ("邮箱 E-mail", doc.email or "-"), ("地址 Address", _address(doc.customer))],
            s, (34 * mm, _BODY - 34 * mm),
        ),
        _p("商品信息 Goods", s["heading"]),
    ]
    rows: list[list[object]] = [
        [_p(h, s["small"]) for h in ("#", "SKU", "品名 Name", "数量 Qty", "单价 Unit price", "金额 Amount")]
    ]
    rows += [
        [str(i), _p(line.sku, s["base"]), _p(line.name, s["base"]), str(line.quantity),
         _money(money, line.unit_price), _money(money, line.amount)]
        for i, line in enumerate(doc.lines, 1)
    ]
    story.append(_grid(rows, [9 * mm, 30 * mm, 59 * mm, 18 * mm, 29 * mm, 29 * mm], font, right=(3, 4, 5)))
    story += [
        _p("服务内容 Service", s["heading"]),
        _pairs(
            [("物流服务 Service type", doc.service_type), ("订单类型 Order class", doc.order_class),
             ("付款方式 Payment", f"{doc.payment_method} ({doc.payment_status})")],
            s, (34 * mm, _BODY - 34 * mm),
        ),
        _p("费用明细 Charges", s["heading"]),
        _pairs(
            [("商品金额 Goods", _money(money, doc.goods_total)), ("运费 Shipping", _money(money, doc.shipping_fee)),
             ("优惠 Discounts", "-" + _money(money, doc.discounts)), ("应付合计 Total", _money(money, doc.total)),
             ("已付 Paid", _money(money, doc.amount_paid))],
            s, (34 * mm, _BODY - 34 * mm),
        ),
        _p("预计时效 Expected times", s["heading"]),
    ]
    if doc.expected:
        times: list[list[object]] = [[_p(h, s["small"]) for h in ("环节 Step", "预计 Expected by", "完成 Done")]]
        times += [[_p(e.label, s["base"]), _time(e.due), _time(e.done_at)] for e in doc.expected]
        story.append(_grid(times, [80 * mm, 46 * mm, 46 * mm], font))
    else:
        story.append(_p("-", s["base"]))
    if doc.remark:
        story += [_p("备注 Remark", s["heading"]), _p(doc.remark, s["base"])]
    story += [Spacer(1, 5 * mm), _p(doc.query_hint, s["small"])]
    return _render(story, title=f"Order confirmation {doc.number}", footer=f"Ordo · {doc.number}", font=font)
