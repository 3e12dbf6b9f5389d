"""Multi-page documents the tests make themselves: PDFs and TIFFs of rendered text pages, and broken ones."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.render import render_lines

DPI = 150  # the default OCRQ_PDF_DPI: a page drawn at this resolution comes back pixel for pixel


def text_pages(texts: list[str], size: int = 28) -> list[Image.Image]:
    """One small white page per text, each the same size (grayscale: small files, quick pages)."""
    pages = [render_lines([text], size=size, margin=24) for text in texts]
    width, height = max(p.width for p in pages), max(p.height for p in pages)
    sized = []
    for page in pages:
        canvas = Image.new("L", (width, height), 255)
        canvas.paste(page.convert("L"), (0, 0))
        sized.append(canvas)
    return sized


def pdf_bytes(pages: list[Image.Image], dpi: int = DPI) -> bytes:
    """A PDF with one page per image (Pillow writes it; each page is the image at ``dpi``)."""
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buffer.getvalue()


def tiff_bytes(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    return buffer.getvalue()


def text_pdf(texts: list[str], size: int = 28) -> bytes:
    return pdf_bytes(text_pages(texts, size))


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF written object by object, with a correct cross-reference table."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return out


_PAGE_TREE = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"]


def encrypted_pdf() -> bytes:
    """A PDF under the standard security handler whose user password is not empty: it needs a password."""
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>"
    file_id = b"<00112233445566778899aabbccddeeff>"
    return _pdf([*_PAGE_TREE, encrypt], b"/Encrypt 4 0 R /ID [%s %s]" % (file_id, file_id))


def broken_pdf() -> bytes:
    """Starts like a PDF, but has no page tree nor cross-references PDFium can use."""
    return b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
