"""The invisible text of one PDF page: each OCR word written over its box (render mode 3).

A word is drawn with a text matrix that carries its box: the baseline runs along the box's bottom edge
and the glyphs (1 em each in the glyphless font) are scaled to span the box's width and height, so a
reader's selection, search hit and copied text fall where the word is on the page, on tilted lines too.
The words of a line share the line's top and bottom (a word spans its own part of the line): readers
(poppler) start a new word where the font size or baseline changes, which would split "识别" apart.
Where the line's text has a space between two words, a space glyph fills the gap between their boxes;
where it has none (CJK characters), the last glyph's advance reaches the next word (character spacing,
``Tc``, which is not part of the glyph's outline), so readers that split words at gaps (poppler) keep
"识别" one word while each character's own box stays where its pixels are.
"""

from __future__ import annotations

from collections.abc import Callable

from ocrq.outputs.glyphless import ASCENT, DESCENT, encode
from ocrq.outputs.layout import Page, Quad

# A point in upload pixels -> the same point in the PDF page's user space (points, y up).
ToPage = Callable[[float, float], tuple[float, float]]
FONT_RESOURCE = "/OcrqText"
_BELOW = -DESCENT / (ASCENT - DESCENT)  # the part of a glyph's height under the baseline
MIN_SPACE = 0.3  # the least gap a space between two words is given, in line heights


def text_layer(page: Page, to_page: ToPage) -> bytes:
    """The content stream (operators) that writes ``page``'s words invisibly, in reading order."""
    out = [f"BT\n3 Tr\n{FONT_RESOURCE} 1 Tf\n"]
    for line in page.lines:
        words = line.words
        boxes = [[to_page(x, y) for x, y in on_line(word.box, line.box)] for word in words]
        for index, word in enumerate(words):
            corners = boxes[index]
            following = boxes[index + 1] if index + 1 < len(words) else None
            if following is not None and word.space_after:
                corners = _room_for_space(corners, following)
                out.append(_show(word.text, corners))
                out.append(_show(" ", _gap(corners, following)))
            else:
                out.append(_show(word.text, corners, _gap_length(corners, following) if following else 0))
    out.append("ET\n")
    return "".join(out).encode()


def on_line(word: Quad, line: Quad) -> Quad:
    """The part of the line's quad that the word spans along the line (its left to its right edge)."""
    (l0, l1, l2, l3) = line
    dx, dy = ((l1[0] - l0[0]) + (l2[0] - l3[0])) / 2, ((l1[1] - l0[1]) + (l2[1] - l3[1])) / 2
    length2 = dx * dx + dy * dy
    if length2 < 1e-6:
        return word
    origin = ((l0[0] + l3[0]) / 2, (l0[1] + l3[1]) / 2)

    def along(point: list[float]) -> float:
        return ((point[0] - origin[0]) * dx + (point[1] - origin[1]) * dy) / length2

    left = (along(word[0]) + along(word[3])) / 2
    right = (along(word[1]) + along(word[2])) / 2

    def at(start: list[float], end: list[float], t: float) -> list[float]:
        return [start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])]

    return [at(l0, l1, left), at(l0, l1, right), at(l3, l2, right), at(l3, l2, left)]


def _show(text: str, corners: list[tuple[float, float]], reach: float = 0.0) -> str:
    """``text`` stretched over the quad ``corners`` (top-left, top-right, bottom-right, bottom-left); the
    last glyph advances ``reach`` more points (to the next word)."""
    codes, glyphs = encode(text)
    if not glyphs:
        return ""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
    # the baseline direction (mean of the top and bottom edges) and the up direction (mean of the sides)
    bx, by = ((x1 - x0) + (x2 - x3)) / 2, ((y1 - y0) + (y2 - y3)) / 2
    ux, uy = ((x0 - x3) + (x1 - x2)) / 2, ((y0 - y3) + (y1 - y2)) / 2
    if abs(bx) + abs(by) < 1e-3:  # an empty box: a sliver along x keeps the matrix invertible
        bx = 0.01
    if abs(ux) + abs(uy) < 1e-3:
        uy = 0.01
    # text space: x in glyphs, y in em from the baseline; the glyphs' full height spans the box
    a, b, c, d = bx / glyphs, by / glyphs, ux, uy
    e, f = x3 + _BELOW * ux, y3 + _BELOW * uy
    shown = f"{a:.4f} {b:.4f} {c:.4f} {d:.4f} {e:.3f} {f:.3f} Tm "
    if reach <= 0:
        return shown + f"<{codes.hex().upper()}> Tj\n"
    spacing = reach * glyphs / max((bx * bx + by * by) ** 0.5, 1e-3)  # points -> text space units
    head, last = codes[:-2], codes[-2:]
    if len(last) == 2 and 0xDC00 <= int.from_bytes(last, "big") <= 0xDFFF:  # keep a surrogate pair whole
        head, last = codes[:-4], codes[-4:]
    before = f"<{head.hex().upper()}> Tj " if head else ""
    return shown + f"{before}{spacing:.4f} Tc <{last.hex().upper()}> Tj 0 Tc\n"


Corners = list[tuple[float, float]]


def _room_for_space(word: Corners, following: Corners) -> Corners:
    """The word's quad, its right end pulled back so that the space after it is at least MIN_SPACE of the
    line's height: readers (poppler) break words only at a gap over about a tenth of the font size, and
    the recogniser's word boxes of "number 2026" can touch. At most a third of the word is given up."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = word
    height = ((x0 - x3) ** 2 + (y0 - y3) ** 2) ** 0.5
    width = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    short = MIN_SPACE * height - _gap_length(word, following)
    if short <= 0 or width < 1e-3:
        return word
    t = min(short, width / 3) / width  # along the top and bottom edges, from the right end back
    return [(x0, y0), (x1 - t * (x1 - x0), y1 - t * (y1 - y0)), (x2 - t * (x2 - x3), y2 - t * (y2 - y3)),
            (x3, y3)]


def _gap(left: list[tuple[float, float]], right: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The quad between two words on a line: from the right edge of one to the left edge of the next (a
    sliver when they touch or overlap)."""
    top_left, bottom_left = left[1], left[2]
    top_right, bottom_right = right[0], right[3]
    width = ((top_right[0] - top_left[0]) ** 2 + (top_right[1] - top_left[1]) ** 2) ** 0.5
    if width < 0.1 or (top_right[0] - top_left[0]) * (left[1][0] - left[0][0]) < 0:
        top_right = (top_left[0] + 0.1, top_left[1])
        bottom_right = (bottom_left[0] + 0.1, bottom_left[1])
    return [top_left, top_right, bottom_right, bottom_left]


def _gap_length(left: list[tuple[float, float]], right: list[tuple[float, float]]) -> float:
    """Points from one word's right edge to the next word's left edge, along the line (0 if they touch)."""
    (tx, ty), (rx, ry) = left[1], right[0]
    (bx, by) = (left[1][0] - left[0][0], left[1][1] - left[0][1])
    norm = max((bx * bx + by * by) ** 0.5, 1e-3)
    return max(0.0, ((rx - tx) * bx + (ry - ty) * by) / norm)


def page_transform(width_px: int, height_px: int, box: tuple[float, float, float, float],
                   rotate: int = 0) -> ToPage:
    """Pixels of a page image (as PDFium renders it: the visible box, turned by ``/Rotate``) to the page's
    user space. ``box`` is the visible box (CropBox, else MediaBox) ``x0, y0, x1, y1`` in points."""
    x0, y0, x1, y1 = box
    turned = rotate % 180 == 90
    shown_w, shown_h = (y1 - y0, x1 - x0) if turned else (x1 - x0, y1 - y0)
    sx, sy = shown_w / max(width_px, 1), shown_h / max(height_px, 1)
    rotate %= 360

    def to_page(x: float, y: float) -> tuple[float, float]:
        u, v = x * sx, y * sy  # shown points from the top-left corner, v down
        if rotate == 90:
            return x0 + v, y0 + u
        if rotate == 180:
            return x1 - u, y0 + v
        if rotate == 270:
            return x1 - v, y1 - u
        return x0 + u, y1 - v

    return to_page


__all__ = ["FONT_RESOURCE", "Quad", "page_transform", "text_layer"]
