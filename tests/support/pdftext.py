"""A PDF's text as two independent readers extract it: PDFium (pypdfium2) and poppler's ``pdftotext``
(Debian's poppler-utils, installed by `make test`), and text compared as people read it."""

from __future__ import annotations

import re
import shutil
import subprocess

import pypdfium2 as pdfium

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
