"""hOCR 1.2 (XHTML): pages, content areas, paragraphs, lines and words with their boxes and confidences.

The classes Tesseract writes (``ocr_page``, ``ocr_carea``, ``ocr_par``, ``ocr_line``, ``ocrx_word``), each
with a ``title`` of ``bbox x0 y0 x1 y1`` in the upload's pixels; a word's confidence is ``x_wconf`` in
percent. Each block of the result is one content area holding one paragraph.
"""

from __future__ import annotations

from html import escape

from ocrq.outputs.layout import bbox, pages

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="und" lang="und">
<head>
<title>{title}</title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>
<meta name="ocr-system" content="ocrq"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
</head>
<body>
"""


def _box(quad: list[list[float]]) -> str:
    return "bbox {} {} {} {}".format(*bbox(quad))


def to_hocr(result: dict, title: str = "ocrq") -> str:
    """The result as an hOCR document (UTF-8 XHTML)."""
    out = [_HEAD.format(title=escape(title))]
    line_id = word_id = 0
    for page in pages(result):
        n = page.number
        full: list[list[float]] = [[0, 0], [page.width, 0], [page.width, page.height], [0, page.height]]
        out.append(f'<div class="ocr_page" id="page_{n}" title="{_box(full)}; ppageno {n - 1}">\n')
        for b, block in enumerate(page.blocks, 1):
            out.append(f' <div class="ocr_carea" id="block_{n}_{b}" title="{_box(block.box)}">\n')
            out.append(f'  <p class="ocr_par" id="par_{n}_{b}" title="{_box(block.box)}">\n')
            for line in block.lines:
                line_id += 1
                out.append(f'   <span class="ocr_line" id="line_{line_id}" title="{_box(line.box)}; '
                           f'x_wconf {round(line.confidence * 100)}">')
                for word in line.words:
                    word_id += 1
                    out.append(f'<span class="ocrx_word" id="word_{word_id}" title="{_box(word.box)}; '
                               f'x_wconf {round(word.confidence * 100)}">{escape(word.text)}</span>'
                               + (" " if word.space_after else ""))
                out.append("</span>\n")
            out.append("  </p>\n </div>\n")
        out.append("</div>\n")
    out.append("</body>\n</html>\n")
    return "".join(out)
