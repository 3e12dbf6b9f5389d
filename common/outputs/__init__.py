"""A finished job's result in the formats people read it in: plain text, hOCR, ALTO XML and searchable
PDF. Pure functions of the stored result (and, for the PDF, the upload): the API serves them, the CLI
writes them; none needs the OCR engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    """One format: the name in ``result.<extension>`` and ``--format``, its media type, and whether it
    needs the upload (the searchable PDF draws the pages themselves)."""

    extension: str
    media_type: str
    needs_upload: bool = False


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    "txt": OutputFormat("txt", "text/plain; charset=utf-8"),
    "hocr": OutputFormat("hocr", "text/vnd.hocr+html; charset=utf-8"),
    "xml": OutputFormat("xml", "application/alto+xml; charset=utf-8"),
    "pdf": OutputFormat("pdf", "application/pdf", needs_upload=True),
}


def render_output(fmt: str, result: dict, upload: bytes | None = None, document: dict | None = None,
                  name: str = "") -> bytes:
    """``result`` in format ``fmt`` (a key of OUTPUT_FORMATS); the PDF needs ``upload`` (and the job's
    ``document`` info for a PDF or TIFF)."""
    if fmt == "txt":  # the pages' text joined by form feeds, as `ocrq submit --format txt` writes it
        from ocrq.formats import to_text
        return to_text(result).encode()
    if fmt == "hocr":
        from ocrq.outputs.hocr import to_hocr
        return to_hocr(result, name or "ocrq").encode()
    if fmt == "xml":
        from ocrq.outputs.alto import to_alto
        return to_alto(result, name).encode()
    if fmt == "pdf":
        if upload is None:
            raise ValueError("the searchable PDF needs the upload")
        from ocrq.outputs.pdf import searchable_pdf  # pikepdf: loaded for PDFs only
        return searchable_pdf(result, upload, document)
    raise ValueError(f"format must be one of {sorted(OUTPUT_FORMATS)}, not {fmt!r}")
