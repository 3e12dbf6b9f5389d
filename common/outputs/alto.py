"""ALTO XML v4 (the Library of Congress's layout-and-text schema, 4.4): Page, PrintSpace, TextBlock,
TextLine, String and SP, with positions in pixels (``MeasurementUnit`` pixel) and word confidences ``WC``
in [0, 1]. Validated against the published XSD in the tests (tests/common/outputs/alto-4-4.xsd)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from ocrq.outputs.layout import bbox, pages

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"


def _position(quad: list[list[float]]) -> str:
    left, top, right, bottom = bbox(quad)
    return f'HPOS="{left}" VPOS="{top}" WIDTH="{max(right - left, 0)}" HEIGHT="{max(bottom - top, 0)}"'


def to_alto(result: dict, file_name: str = "") -> str:
    """The result as an ALTO v4 document (UTF-8)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<alto xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'xsi:schemaLocation="{NAMESPACE} {SCHEMA}" SCHEMAVERSION="4.4">\n',
           "<Description>\n<MeasurementUnit>pixel</MeasurementUnit>\n",
           f"<sourceImageInformation><fileName>{_text(file_name)}</fileName></sourceImageInformation>\n",
           '<Processing ID="ocr"><processingCategory>contentGeneration</processingCategory>'
           "<processingSoftware><softwareName>ocrq</softwareName></processingSoftware></Processing>\n",
           "</Description>\n<Layout>\n"]
    line_id = word_id = 0
    for page in pages(result):
        n = page.number
        full: list[list[float]] = [[0, 0], [page.width, 0], [page.width, page.height], [0, page.height]]
        out.append(f'<Page ID="page_{n}" PHYSICAL_IMG_NR="{n}" WIDTH="{page.width}" '
                   f'HEIGHT="{page.height}">\n<PrintSpace {_position(full)}>\n')
        for b, block in enumerate(page.blocks, 1):
            out.append(f'<TextBlock ID="block_{n}_{b}" {_position(block.box)}>\n')
            for line in block.lines:
                line_id += 1
                out.append(f'<TextLine ID="line_{line_id}" {_position(line.box)}>\n')
                for index, word in enumerate(line.words):
                    word_id += 1
                    confidence = min(max(word.confidence, 0.0), 1.0)
                    out.append(f'<String ID="word_{word_id}" {_position(word.box)} '
                               f'CONTENT={quoteattr(word.text)} WC="{confidence:.3f}"/>\n')
                    if word.space_after and index + 1 < len(line.words):
                        left = bbox(word.box)[2]
                        right = bbox(line.words[index + 1].box)[0]
                        out.append(f'<SP WIDTH="{max(right - left, 0)}" HPOS="{left}" '
                                   f'VPOS="{bbox(word.box)[1]}"/>\n')
                out.append("</TextLine>\n")
            out.append("</TextBlock>\n")
        out.append("</PrintSpace>\n</Page>\n")
    out.append("</Layout>\n</alto>\n")
    return "".join(out)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
