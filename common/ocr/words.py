"""Words and characters of a line, placed by the recogniser's own CTC alignment.

``Reading.positions`` says in which CTC column each character was read; a column is a fixed stride of
the recogniser's input, which is the line's crop resized to the model's height, and the crop is the line's
quadrilateral warped to a rectangle. So a character's column range is a fraction of the way along the
line's reading axis, and that fraction of the line's quadrilateral is the character's box in the page: a
quadrilateral that follows a tilted line. A character's extent runs halfway to its neighbours in the same
word; at a word's edge (a space, the line's end) it is half its pitch to the neighbour it has, or half the
line's median pitch.

Words are runs between spaces of Latin letters, digits and punctuation; each CJK character is a word of
its own (as Azure Read counts them). Confidence: a character's is its CTC probability, a word's the mean
of its characters'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocrq.ocr.ctc import Reading

# A character's centre from the centre of the column it was read in, in columns (measured on rendered
# lines, bench/README.md "Reading order (issue 15)": the spike sits a quarter column right of the glyph).
SPIKE_OFFSET = -0.25
# Half a character, in columns, when the line has no pitch to go by (a 48-px line, 8-px columns).
DEFAULT_HALF = {True: 2.4, False: 1.4}


@dataclass(frozen=True)
class Glyph:
    """A word or a character: its text, confidence in [0, 1], and (4, 2) box in the line's corner order."""

    text: str
    confidence: float
    box: np.ndarray


def is_cjk(character: str) -> bool:
    """Han, kana, Hangul, and CJK and full-width punctuation: characters that are words of their own."""
    code = ord(character)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)


def word_runs(text: str) -> list[list[int]]:
    """Indices of ``text`` grouped into words: runs between spaces, each CJK character alone."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace() or is_cjk(ch):
            if current:
                runs.append(current)
            current = []
            if is_cjk(ch):
                runs.append([i])
        else:
            current.append(i)
    if current:
        runs.append(current)
    return runs


def char_extents(reading: Reading) -> list[tuple[float, float]]:
    """(start, end) in CTC columns of each character of ``reading.text`` (a space: an empty extent)."""
    text, positions = reading.text, reading.positions
    centres = [p + 0.5 + SPIKE_OFFSET for p in positions]
    n = len(text)
    touching = [i for i in range(n - 1) if not text[i].isspace() and not text[i + 1].isspace()]
    pitches = {cjk: [centres[i + 1] - centres[i] for i in touching if is_cjk(text[i]) == cjk]
               for cjk in (True, False)}
    line_half = {cjk: 0.5 * float(np.median(v)) if v else DEFAULT_HALF[cjk] for cjk, v in pitches.items()}
    span = reading.width_columns or float(max(reading.columns, 1))
    out = []
    for i, ch in enumerate(text):
        c = centres[i]
        if ch.isspace():
            out.append((c, c))
            continue
        left = (centres[i - 1] + c) / 2 if i > 0 and not text[i - 1].isspace() else None
        right = (c + centres[i + 1]) / 2 if i + 1 < n and not text[i + 1].isspace() else None
        half = line_half[is_cjk(ch)]
        if left is None and right is not None:
            half = min(half, right - c) if not is_cjk(ch) else half
        elif right is None and left is not None:
            half = min(half, c - left) if not is_cjk(ch) else half
        lo = left if left is not None else c - half
        hi = right if right is not None else c + half
        out.append((max(lo, 0.0), max(min(hi, span), max(lo, 0.0))))
    return out


def reading_axis(box: np.ndarray, vertical: bool, turned: bool) -> np.ndarray:
    """The (4, 2) ``box`` with its corners renamed so that corner 0 -> 1 is the direction the text was
    read (the crop's left to right): a vertical line is read top to bottom (``crop_line`` turns it a
    quarter counter-clockwise), a turned-over one right to left."""
    order = [1, 2, 3, 0] if vertical else [0, 1, 2, 3]
    if turned:
        order = order[2:] + order[:2]
    return box[order]


def sub_box(box: np.ndarray, lo: float, hi: float, vertical: bool, turned: bool) -> np.ndarray:
    """The part of the (4, 2) line ``box`` between fractions ``lo`` and ``hi`` of its reading axis, as a
    (4, 2) quadrilateral in the same corner order as ``box``."""
    axis = reading_axis(box, vertical, turned)
    top, bottom = axis[1] - axis[0], axis[2] - axis[3]
    piece = np.stack([axis[0] + lo * top, axis[0] + hi * top, axis[3] + hi * bottom, axis[3] + lo * bottom])
    order = [1, 2, 3, 0] if vertical else [0, 1, 2, 3]
    if turned:
        order = order[2:] + order[:2]
    back = np.empty_like(piece)
    back[order] = piece
    return back


def fractions(reading: Reading, frame: np.ndarray, box: np.ndarray, vertical: bool,
              turned: bool) -> list[tuple[float, float]]:
    """Each character's (lo, hi) as fractions of ``box``'s reading axis, [0, 1]. ``frame`` (4, 2) is what
    the crop covered (the box, or the box grown where it touched the page's border)."""
    span = reading.width_columns or float(max(reading.columns, 1))
    frame_axis, box_axis = reading_axis(frame, vertical, turned), reading_axis(box, vertical, turned)
    start, direction = frame_axis[0], frame_axis[1] - frame_axis[0]
    origin, along = box_axis[0], box_axis[1] - box_axis[0]
    length2 = max(float(along @ along), 1e-6)
    out = []
    for lo, hi in char_extents(reading):
        a = (start + direction * (lo / span) - origin) @ along / length2
        b = (start + direction * (hi / span) - origin) @ along / length2
        out.append((float(np.clip(a, 0.0, 1.0)), float(np.clip(b, 0.0, 1.0))))
    return out


def glyphs(reading: Reading, frame: np.ndarray, box: np.ndarray, vertical: bool = False,
           turned: bool = False, first: int = 0, end: int | None = None) -> tuple[list[Glyph], list[Glyph]]:
    """(words, characters) of ``reading.text[first:end]`` read in the line ``box`` (4, 2), boxes in its
    coordinates and corner order; no spaces among the characters. Empty lists without an alignment."""
    text = reading.text
    if len(reading.positions) != len(text) or not text.strip():
        return [], []
    end = len(text) if end is None else end
    spans = fractions(reading, frame, box, vertical, turned)
    chars = [Glyph(text[i], round(reading.probabilities[i], 4),
                   sub_box(box, *spans[i], vertical, turned))
             for i in range(first, end) if not text[i].isspace()]
    words = []
    for run in word_runs(text[first:end]):
        members = [first + k for k in run]
        lo, hi = spans[members[0]][0], spans[members[-1]][1]
        confidence = float(np.mean([reading.probabilities[i] for i in members]))
        words.append(Glyph("".join(text[i] for i in members), round(confidence, 4),
                           sub_box(box, lo, hi, vertical, turned)))
    return words, chars
