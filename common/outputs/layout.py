"""A job result read as pages, blocks, lines and words, whatever the engine filled in.

Every renderer walks the same tree. A result may lack ``words`` (a line is then one word) or ``blocks``
(the page is then one block of all its lines, in order), as results stored before the engine gave them do.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

Quad = list[list[float]]  # 4 [x, y] corners clockwise from the text's top-left, in upload pixels


@dataclass(frozen=True)
class Word:
    """A word (a run between spaces, or one CJK character); ``space_after``: the line's text has a space
    between it and the next word."""

    text: str
    confidence: float
    box: Quad
    space_after: bool


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    box: Quad
    words: list[Word]


@dataclass(frozen=True)
class Block:
    lines: list[Line]

    @property
    def box(self) -> Quad:
        return quad_around([line.box for line in self.lines])


@dataclass(frozen=True)
class Page:
    """One page: its number (1-based), size in pixels, text and blocks; ``dpi`` for a rendered PDF page."""

    number: int
    width: int
    height: int
    text: str
    blocks: list[Block]
    dpi: int | None = None

    @property
    def lines(self) -> list[Line]:
        return [line for block in self.blocks for line in block.lines]

    @property
    def words(self) -> list[Word]:
        return [word for line in self.lines for word in line.words]


def pages(result: dict) -> list[Page]:
    """The pages of an image's result (one) or of a document's (``result["pages"]``)."""
    raw_pages = result.get("pages") or [result]
    return [_page(raw, int(raw.get("page", number))) for number, raw in enumerate(raw_pages, 1)]


def _page(raw: dict, number: int) -> Page:
    lines = [_line(line) for line in raw.get("lines", [])]
    raw_blocks = raw.get("blocks") or []
    blocks = [Block([lines[i] for i in block.get("lines", []) if 0 <= i < len(lines)])
              for block in raw_blocks]
    blocks = [block for block in blocks if block.lines]
    placed = {id(line) for block in blocks for line in block.lines}
    left_out = [line for line in lines if id(line) not in placed]
    if left_out:  # no blocks (an older result), or lines no block names: they form one more block
        blocks.append(Block(left_out))
    return Page(number, int(raw.get("width", 0)), int(raw.get("height", 0)), str(raw.get("text", "")),
                blocks, raw.get("dpi"))


def _line(raw: dict) -> Line:
    text, confidence, box = str(raw.get("text", "")), float(raw.get("confidence", 0.0)), raw["box"]
    raw_words = raw.get("words") or [{"text": text, "confidence": confidence, "box": box}]
    texts = [str(w.get("text", "")) for w in raw_words]
    spaces = spaces_between(text, texts)
    words = [Word(t, float(w.get("confidence", confidence)), w["box"], space)
             for t, w, space in zip(texts, raw_words, spaces, strict=True) if t]
    return Line(text, confidence, box, words)


def spaces_between(line_text: str, words: list[str]) -> list[bool]:
    """For each word, whether the line's text has whitespace after it and before the next word. Found by
    walking the line's text; where a word is not found there, Latin neighbours get a space, CJK ones not."""
    spaces: list[bool] = []
    position = 0
    for index, word in enumerate(words):
        found = line_text.find(word, position) if word else -1
        if found < 0:
            following = words[index + 1] if index + 1 < len(words) else ""
            spaces.append(bool(following) and not (is_cjk(word[-1:]) or is_cjk(following[:1])))
            continue
        position = found + len(word)
        following = words[index + 1] if index + 1 < len(words) else ""
        next_at = line_text.find(following, position) if following else -1
        gap = line_text[position:next_at] if next_at >= 0 else line_text[position:position + 1]
        spaces.append(bool(following) and any(ch.isspace() for ch in gap))
    return spaces


def is_cjk(char: str) -> bool:
    """A Han, kana or hangul character (or a full-width punctuation mark): a word of its own."""
    if not char:
        return False
    return unicodedata.east_asian_width(char) in ("W", "F")


def quad_around(quads: list[Quad]) -> Quad:
    """The upright rectangle around ``quads``, as a quad."""
    xs = [x for quad in quads for x, _ in quad]
    ys = [y for quad in quads for _, y in quad]
    if not xs:
        return [[0, 0], [0, 0], [0, 0], [0, 0]]
    left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def bbox(quad: Quad) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` in whole pixels around a quad (hOCR's and ALTO's boxes are upright)."""
    xs, ys = [x for x, _ in quad], [y for _, y in quad]
    return int(min(xs)), int(min(ys)), int(round(max(xs))), int(round(max(ys)))
