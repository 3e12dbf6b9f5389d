"""Writing OCR results as JSON, plain text, or TSV (page, line, confidence, box, text)."""

from __future__ import annotations

import json

FORMATS = ("json", "txt", "tsv")
TSV_HEADER = "page\tline\tconfidence\tbox\ttext"


def pages_of(result: dict) -> list[dict]:
    """A result's pages: a multi-page document has ``pages``; a single image is its own page."""
    return result.get("pages") or [result]


def to_text(result: dict) -> str:
    return "\n\f\n".join(page.get("text", "") for page in pages_of(result)) + "\n"


def to_tsv(result: dict, header: bool = True) -> str:
    rows = [TSV_HEADER] if header else []
    for page_number, page in enumerate(pages_of(result), 1):
        for line_number, line in enumerate(page.get("lines", []), 1):
            box = " ".join(f"{x:g},{y:g}" for x, y in line["box"])
            text = line["text"].replace("\t", " ").replace("\n", " ")
            rows.append(f"{page_number}\t{line_number}\t{line['confidence']:.4f}\t{box}\t{text}")
    return "\n".join(rows) + "\n"


def render(result: dict, fmt: str) -> str:
    """``result`` (an engine result or a job document's result) in format ``fmt``."""
    if fmt == "json":
        return json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        return to_text(result)
    if fmt == "tsv":
        return to_tsv(result)
    raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
