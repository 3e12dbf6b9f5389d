"""A PDF's text as two independent readers extract it, PDFium (pypdfium2) and poppler's ``pdftotext``
(Debian's poppler-utils, installed by `make test`); text compared as people read it; and where PDFium
finds a searched word on the page."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ocrq.outputs.layout import is_cjk


def pdfium_pages(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def poppler_pages(pdf: bytes) -> list[str]:
    """``pdftotext``'s text, page by page (it ends each page with a form feed)."""
    binary = shutil.which("pdftotext")
    assert binary, "pdftotext is missing: `make test` installs poppler-utils (apt-get install poppler-utils)"
    out = subprocess.run([binary, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode().split("\f")[:-1]


def normalised(text: str) -> str:
    """Whitespace runs as one space, none between two CJK characters (readers may split a CJK run where
    characters stand apart; the text is the same)."""
    text = re.sub(r"\s+", " ", text).strip()
    return "".join(ch for i, ch in enumerate(text) if not (
        ch == " " and 0 < i < len(text) - 1 and is_cjk(text[i - 1]) and is_cjk(text[i + 1])))


def search_box(pdf: bytes, page_index: int, needle: str, pixels: tuple[int, int]) -> tuple[float, ...]:
    """The rectangle (left, top, right, bottom, in the shown page image's pixels: PDFium's own page-to-
    device mapping, /Rotate included) of PDFium's first hit for ``needle``."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[page_index]
        text = page.get_textpage()
        hit = text.search(needle, match_case=True).get_next()
        assert hit is not None, f"{needle!r} not found"
        first, count = hit
        corners = []
        for index in range(first, first + count):
            left, bottom, right, top = text.get_charbox(index)
            corners += [_to_device(page, pixels, x, y) for x in (left, right) for y in (bottom, top)]
    finally:
        document.close()
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _to_device(page, pixels: tuple[int, int], x: float, y: float) -> tuple[int, int]:
    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    assert pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, pixels[0], pixels[1], 0, x, y,
                                      ctypes.byref(device_x), ctypes.byref(device_y))
    return device_x.value, device_y.value


def inside(inner: tuple[float, ...], outer: tuple[float, ...], slack: float = 1.5) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack and inner[2] <= outer[2] + slack
            and inner[3] <= outer[3] + slack)
