"""A page of a stored upload as a preview image (PNG or JPEG, longest side at most PREVIEW_SIDE pixels),
for the web page to draw boxes on. PDF pages are rendered by PDFium (common/documents.py), TIFF pages
and images decoded by Pillow (common/images.py): no OCR engine."""

from __future__ import annotations

import io

from PIL import Image

from ocrq.documents import DocumentInfo, render_page
from ocrq.errors import NotFound
from ocrq.images import decode_working

PREVIEW_SIDE = 2000
PREVIEW_TYPES = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg")}


def page_count(document: dict | None) -> int:
    """Pages of a job's upload: a document's, or 1 for an image."""
    return int(document["pages"]) if document else 1


def page_preview(upload: bytes, document: dict | None, page: int, kind: str, max_pixels: int) -> bytes:
    """Page ``page`` (1-based) of the upload, upright as the engine read it, scaled to fit PREVIEW_SIDE,
    encoded as ``kind`` ("png" or "jpg"). NotFound for a page the upload does not have."""
    pages = page_count(document)
    if not 1 <= page <= pages:
        raise NotFound(f"page {page} is not in a document of {pages} page{'s' if pages > 1 else ''}")
    if document is None:  # decoded within the preview's pixels (a JPEG at 1/2, 1/4 or 1/8 directly)
        pixels = decode_working(upload, max_pixels, PREVIEW_SIDE * PREVIEW_SIDE).pixels
    else:
        info = DocumentInfo.from_dict(document)
        # a PDF page within the preview's pixels (the dpi that fits); a TIFF page at full size
        pixels, _ = render_page(upload, info, page, max_pixels, PREVIEW_SIDE * PREVIEW_SIDE)
    image = Image.fromarray(pixels[:, :, ::-1])  # BGR -> RGB
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    fmt, _ = PREVIEW_TYPES[kind]
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {"compress_level": 3}))
    return out.getvalue()
