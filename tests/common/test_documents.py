"""PDF and multi-page TIFF uploads: what the API learns from them, and the pages a worker renders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from ocrq.documents import DocumentInfo, inspect, pdf_scale, render_page
from ocrq.errors import (
    EncryptedDocument,
    ImageTooLarge,
    TooManyPages,
    UndecodableDocument,
    UnsupportedImage,
)
from tests.support.documents import broken_pdf, encrypted_pdf, pdf_bytes, tiff_bytes
from tests.support.render import render_png

PIXELS = 40_000_000


def shades(count: int, size=(120, 80)) -> list[Image.Image]:
    """Pages told apart by their grey level: page k is k * 40."""
    return [Image.new("L", size, 40 * k) for k in range(1, count + 1)]


def test_a_pdf_is_a_document_with_its_pages_counted():
    assert inspect(pdf_bytes(shades(3)), PIXELS, 10, 150) == DocumentInfo("pdf", 3, 150)
    with pytest.raises(TooManyPages, match="4 pages; the limit is 3"):
        inspect(pdf_bytes(shades(4)), PIXELS, 3, 150)


def test_a_multipage_tiff_is_a_document_and_a_single_image_is_not():
    assert inspect(tiff_bytes(shades(2)), PIXELS, 10, 150) == DocumentInfo("tiff", 2)
    assert inspect(tiff_bytes(shades(1)), PIXELS, 10, 150) is None
    assert inspect(render_png(["one"]), PIXELS, 10, 150) is None
    with pytest.raises(TooManyPages):
        inspect(tiff_bytes(shades(3)), PIXELS, 2, 150)


def test_a_tiff_page_over_the_pixel_limit_is_refused_up_front():
    pages = [Image.new("L", (20, 20), 255), Image.new("L", (200, 200), 255)]
    with pytest.raises(ImageTooLarge, match="page 2"):
        inspect(tiff_bytes(pages), 1000, 10, 150)


@pytest.mark.parametrize(("data", "error"), [
    (encrypted_pdf(), EncryptedDocument),
    (broken_pdf(), UndecodableDocument),
    (pdf_bytes(shades(2))[:400], UndecodableDocument),  # truncated
    (b"%!PS-Adobe-3.0\n%%EOF\n", UnsupportedImage),
])
def test_unreadable_documents_get_their_own_errors(data, error):
    with pytest.raises(error):
        inspect(data, PIXELS, 10, 150)


def test_pdf_pages_render_in_order_at_the_documents_resolution():
    data = pdf_bytes(shades(3), dpi=72)  # 120 x 80 points
    document = inspect(data, PIXELS, 10, 144)
    for page in (1, 3):
        pixels, dpi = render_page(data, document, page, PIXELS)
        assert pixels.shape == (160, 240, 3) and pixels.dtype == np.uint8 and dpi == 144
        assert abs(int(np.median(pixels)) - 40 * page) <= 2
    with pytest.raises(UndecodableDocument):
        render_page(data, document, 4, PIXELS)


def test_a_poster_sized_pdf_page_is_rendered_within_the_pixel_limit():
    data = pdf_bytes([Image.new("L", (400, 300), 255)], dpi=72)
    pixels, dpi = render_page(data, DocumentInfo("pdf", 1, 600), 1, 50_000)
    assert pixels.shape[0] * pixels.shape[1] <= 50_000 and dpi < 600
    scale = pdf_scale(400, 300, 600, 50_000)
    assert math.ceil(400 * scale) * math.ceil(300 * scale) <= 50_000 < 401 * 301 * (scale / 0.99) ** 2


def test_tiff_pages_decode_in_order():
    data = tiff_bytes(shades(3))
    document = inspect(data, PIXELS, 10, 150)
    levels = [int(render_page(data, document, page, PIXELS)[0][0, 0, 0]) for page in (1, 2, 3)]
    assert levels == [40, 80, 120]
