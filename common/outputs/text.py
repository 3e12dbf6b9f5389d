"""Plain text: each page's text in reading order, pages separated by a form feed on a line of its own."""

from __future__ import annotations

from ocrq.outputs.layout import pages


def to_text(result: dict) -> str:
    """The result's text, as the job's ``text`` has it (a document's pages joined by form feeds)."""
    return "\n\f\n".join(page.text for page in pages(result)) + "\n"
