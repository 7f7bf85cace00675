"""Looking at PDFs as a person would: pages as images (pypdfium2), the text a reader extracts, where
a string was drawn, and whether the glyphs there are the font's glyphs for that string."""

from __future__ import annotations

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont, ImageOps

DPI = 300
SCALE = DPI / 72


def pages(pdf: bytes) -> int:
    return len(pdfium.PdfDocument(pdf))


def page_size_pt(pdf: bytes, index: int = 0) -> tuple[float, float]:
    return tuple(pdfium.PdfDocument(pdf)[index].get_size())  # type: ignore[return-value]


def image(pdf: bytes, index: int = 0) -> Image.Image:
    return pdfium.PdfDocument(pdf)[index].render(scale=SCALE).to_pil().convert("L")


def text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def box_of(pdf: bytes, needle: str, index: int = 0) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) on the rendered page where ``needle`` was drawn."""
    page = pdfium.PdfDocument(pdf)[index]
    textpage = page.get_textpage()
    found = textpage.search(needle).get_next()
    assert found is not None, f"{needle!r} not in the page's text"
    start, count = found
    boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
    height = page.get_size()[1]
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = 2
    return (int(left * SCALE) - pad, int((height - top) * SCALE) - pad,
            int(right * SCALE) + pad, int((height - bottom) * SCALE) + pad)


def ink(img: Image.Image) -> Image.Image:
    """The image cut to its dark pixels."""
    bbox = ImageOps.invert(img).point(lambda v: 255 if v > 96 else 0).getbbox()
    assert bbox is not None, "no ink"
    return img.crop(bbox)


def ink_ratio(img: Image.Image) -> float:
    dark = sum(1 for v in img.tobytes() if v < 128)
    return dark / (img.width * img.height)


def drawn(value: str, font_path: str, font_index: int, size_px: int) -> Image.Image:
    """``value`` drawn by PIL (FreeType) in the same font: the reference glyphs."""
    font = ImageFont.truetype(font_path, size=size_px, index=font_index)
    canvas = Image.new("L", (size_px * (len(value) + 2), size_px * 3), 255)
    ImageDraw.Draw(canvas).text((size_px, size_px), value, font=font, fill=0)
    return canvas


def tofu(count: int, size_px: int) -> Image.Image:
    """What a font without the glyphs prints: one empty box per character."""
    canvas = Image.new("L", (size_px * (count + 2), size_px * 3), 255)
    draw = ImageDraw.Draw(canvas)
    for i in range(count):
        x = size_px * (i + 1)
        box = (x + size_px * 0.1, size_px, x + size_px * 0.9, size_px * 2)
        draw.rectangle(box, outline=0, width=max(1, size_px // 12))
    return canvas


def likeness(a: Image.Image, b: Image.Image, size: tuple[int, int] = (96, 48)) -> float:
    """Intersection over union of the dark pixels of two images cut to their ink and scaled alike."""
    def mask(img: Image.Image) -> list[bool]:
        return [v < 128 for v in ink(img).resize(size, Image.Resampling.BILINEAR).tobytes()]

    ma, mb = mask(a), mask(b)
    union = sum(x or y for x, y in zip(ma, mb, strict=True))
    return sum(x and y for x, y in zip(ma, mb, strict=True)) / union if union else 0.0
