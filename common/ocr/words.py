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
class Glyphs:
    """Words or characters of a line: their texts, confidences in [0, 1], and (K, 4, 2) boxes in the line
    box's corner order."""

    texts: list[str]
    confidences: list[float]
    boxes: np.ndarray


NO_GLYPHS = Glyphs([], [], np.zeros((0, 4, 2), np.float32))


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


def sub_boxes(box: np.ndarray, lo: np.ndarray, hi: np.ndarray, vertical: bool, turned: bool) -> np.ndarray:
    """The parts of the (4, 2) line ``box`` between fractions ``lo`` and ``hi`` (K,) of its reading axis,
    as (K, 4, 2) quadrilaterals in the same corner order as ``box``."""
    axis = reading_axis(box, vertical, turned).astype(np.float64)
    top, bottom = axis[1] - axis[0], axis[2] - axis[3]
    lo, hi = np.asarray(lo, np.float64)[:, None], np.asarray(hi, np.float64)[:, None]
    piece = np.stack([axis[0] + lo * top, axis[0] + hi * top, axis[3] + hi * bottom, axis[3] + lo * bottom],
                     axis=1)
    order = [1, 2, 3, 0] if vertical else [0, 1, 2, 3]
    if turned:
        order = order[2:] + order[:2]
    back = np.empty_like(piece)
    back[:, order] = piece
    return back


def fractions(reading: Reading, frame: np.ndarray, box: np.ndarray, vertical: bool,
              turned: bool) -> np.ndarray:
    """Each character's (lo, hi) as fractions of ``box``'s reading axis, in [0, 1]: (len(text), 2).
    ``frame`` (4, 2) is what the crop covered (the box, or the box grown where it touched the border)."""
    span = reading.width_columns or float(max(reading.columns, 1))
    frame_axis = reading_axis(frame, vertical, turned).astype(np.float64)
    box_axis = reading_axis(box, vertical, turned).astype(np.float64)
    along = box_axis[1] - box_axis[0]
    columns = np.asarray(char_extents(reading), np.float64).reshape(-1, 2) / span  # (n, 2)
    points = frame_axis[0] + columns[:, :, None] * (frame_axis[1] - frame_axis[0])  # (n, 2, 2)
    projected = (points - box_axis[0]) @ along / max(float(along @ along), 1e-6)
    return np.clip(projected, 0.0, 1.0)


def glyphs(reading: Reading, frame: np.ndarray, box: np.ndarray, vertical: bool = False,
           turned: bool = False, first: int = 0, end: int | None = None) -> tuple[Glyphs, Glyphs]:
    """(words, characters) of ``reading.text[first:end]`` read in the line ``box`` (4, 2), boxes in its
    coordinates and corner order; no spaces among the characters. None of either without an alignment."""
    text = reading.text
    if len(reading.positions) != len(text) or not text.strip():
        return NO_GLYPHS, NO_GLYPHS
    end = len(text) if end is None else end
    spans = fractions(reading, frame, box, vertical, turned)
    probabilities = reading.probabilities
    inked = [i for i in range(first, end) if not text[i].isspace()]
    chars = Glyphs([text[i] for i in inked], [round(probabilities[i], 4) for i in inked],
                   sub_boxes(box, spans[inked, 0], spans[inked, 1], vertical, turned))
    runs = [[first + k for k in run] for run in word_runs(text[first:end])]
    words = Glyphs(["".join(text[i] for i in run) for run in runs],
                   [round(sum(probabilities[i] for i in run) / len(run), 4) for run in runs],
                   sub_boxes(box, spans[[run[0] for run in runs], 0], spans[[run[-1] for run in runs], 1],
                             vertical, turned))
    return words, chars
