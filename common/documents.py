"""Multi-page documents: PDF (rendered by PDFium through pypdfium2) and multi-page TIFF.

The API calls :func:`inspect` on every upload: a single image gives ``None`` (an ordinary job), a PDF or a
TIFF of several pages gives a :class:`DocumentInfo` (its pages counted, 422 past OCRQ_MAX_PAGES). The
worker calls :func:`render_page` for one page at a time, so the pages of one document spread over the
worker processes (worker/documents.py).

PDFium is not thread-safe, not even across documents, and the API serves requests on threads: every call
into it holds ``_PDFIUM``.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from ocrq.errors import (
    EncryptedDocument,
    ImageTooLarge,
    TooManyPages,
    UndecodableDocument,
    UndecodableImage,
    UnsupportedImage,
)
from ocrq.images import decode, probe

PDF_SIGNATURE = b"%PDF-"
_PDFIUM = threading.Lock()
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD: the document is encrypted and the (empty) password is wrong


@dataclass(frozen=True)
class DocumentInfo:
    """What a multi-page upload is: ``format`` "pdf" or "tiff", its page count, and for a PDF the
    resolution its pages are rendered at (fixed at submission, so every page of a job gets the same)."""

    format: str
    pages: int
    dpi: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> DocumentInfo:
        return cls(format=str(data["format"]), pages=int(data["pages"]), dpi=data.get("dpi"))


def looks_like_pdf(data: bytes) -> bool:
    """PDF readers accept the ``%PDF-`` header anywhere in the first 1024 bytes; so does PDFium."""
    return PDF_SIGNATURE in data[:1024]


def inspect(data: bytes, max_pixels: int, max_pages: int, dpi: int) -> DocumentInfo | None:
    """``None`` for a single image; the document for a PDF or a multi-page TIFF. Raises the typed errors
    of ``ocrq.errors`` (415 not an image nor a PDF, 422 unreadable, encrypted, too many pages)."""
    try:
        info = probe(data, max_pixels)
    except UnsupportedImage:
        if not looks_like_pdf(data):
            raise UnsupportedImage("neither an image in a supported format (JPEG, PNG, BMP, TIFF, WebP, "
                                   "GIF) nor a PDF") from None
        return DocumentInfo("pdf", _within_limit(pdf_page_count(data), max_pages), dpi)
    if info.format != "TIFF" or info.frames < 2:
        return None
    _within_limit(info.frames, max_pages)
    _check_tiff_pages(data, max_pixels)
    return DocumentInfo("tiff", info.frames)


def _within_limit(pages: int, max_pages: int) -> int:
    if pages > max_pages:
        raise TooManyPages(f"the document has {pages} pages; the limit is {max_pages}")
    return pages


def _check_tiff_pages(data: bytes, max_pixels: int) -> None:
    """Every page's size from its header: a pixel bomb on page 7 is refused now, not by a worker later."""
    with Image.open(io.BytesIO(data), formats=("TIFF",)) as img:
        for index in range(getattr(img, "n_frames", 1)):
            try:
                img.seek(index)
            except (EOFError, OSError, ValueError) as exc:
                raise UndecodableImage(f"page {index + 1} of the TIFF cannot be read: {exc}") from None
            if img.width <= 0 or img.height <= 0 or img.width * img.height > max_pixels:
                raise ImageTooLarge(f"page {index + 1} is {img.width}x{img.height} pixels; "
                                    f"the limit is {max_pixels:,} pixels")


def _open_pdf(data: bytes):
    """The PdfDocument (call with ``_PDFIUM`` held), or a 422 error that says why it cannot be opened."""
    import pypdfium2 as pdfium  # loaded on the first PDF only

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR:
            raise EncryptedDocument("the PDF is password-protected; send it without the password") from None
        raise UndecodableDocument(f"the PDF cannot be read ({exc})") from None


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF, from its page tree (no page is rendered)."""
    with _PDFIUM:
        pdf = _open_pdf(data)
        try:
            pages = len(pdf)
        finally:
            pdf.close()
    if pages < 1:
        raise UndecodableDocument("the PDF has no pages")
    return pages


def pdf_scale(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> float:
    """Pixels per PDF point for ``dpi``, lowered if the page would have more than ``max_pixels`` pixels
    (a poster-sized page is read at a lower resolution rather than refused)."""
    scale = dpi / 72.0
    if width_pt * height_pt * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width_pt * height_pt))
    while scale > 1e-6 and math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels:
        scale *= 0.99  # PDFium rounds the bitmap's sides up
    return scale


def render_page(data: bytes, document: DocumentInfo, page: int, max_pixels: int,
                budget: int | None = None) -> tuple[np.ndarray, int | None]:
    """Page ``page`` (1-based) as an (H, W, 3) BGR uint8 array, and the resolution a PDF page was
    rendered at (None for TIFF, whose pages are pixels already). A PDF page is rendered within
    ``budget`` pixels too (the engine's working resolution), at the dpi that fits."""
    if not 1 <= page <= document.pages:
        raise UndecodableDocument(f"page {page} is not in a document of {document.pages} pages")
    if document.format == "tiff":
        return decode(data, max_pixels, frame=page - 1), None
    if document.format != "pdf":
        raise UndecodableDocument(f"unknown document format {document.format!r}")
    return _render_pdf_page(data, page, document.dpi or 150, min(max_pixels, budget or max_pixels))


def _render_pdf_page(data: bytes, page: int, dpi: int, max_pixels: int) -> tuple[np.ndarray, int]:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = _open_pdf(data)
        try:
            if page > len(pdf):
                raise UndecodableDocument(f"the PDF has {len(pdf)} pages, not {page}")
            pdf_page = pdf[page - 1]
            width, height = pdf_page.get_size()  # in points, 1/72 inch
            if not (width > 0 and height > 0 and math.isfinite(width * height)):
                raise UndecodableDocument(f"page {page} has an empty size {width}x{height}")
            scale = pdf_scale(width, height, dpi, max_pixels)
            # opaque white paper, 3-byte BGR: the pixel order the engine reads
            bitmap = pdf_page.render(scale=scale, fill_color=(255, 255, 255, 255))
            pixels = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)  # a copy: the buffer is PDFium's
        except pdfium.PdfiumError as exc:
            raise UndecodableDocument(f"page {page} of the PDF cannot be rendered ({exc})") from None
        finally:
            pdf.close()
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[2] == 1:  # a grey bitmap (PDFium picks BGR for the options above; this is a guard)
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3]), round(scale * 72)
