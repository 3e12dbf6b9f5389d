"""Text segments: a detected line cut where its characters leave a wide gap, from the CTC alignment.

The detector joins pieces of text that stand close on a row (a label and its value, the cells of a
receipt's row, more so on blurred or small print, where gaps fill in); people and the services users
compare with (Azure's lines, SROIE's labels) treat pieces a column apart as separate. The recogniser says
where each character was read (``Reading.positions``, CTC columns), so a line whose characters leave a gap
many times wider than their pitch is cut there, each piece with its own box (along the line's
quadrilateral) and confidence. Word spaces are much narrower and stay inside a segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocrq.ocr.ctc import Reading


@dataclass(frozen=True)
class SegmentParams:
    """When a gap cuts a line (measured in bench/README.md, "Segments")."""

    gap_pitches: float = 4.0  # a gap of at least this many times the line's median character pitch...
    min_gap_columns: int = 8  # ...and at least this many CTC columns (8 px of the 48-px line each)
    min_chars: int = 4  # lines of fewer characters are never cut


@dataclass(frozen=True)
class Segment:
    """A piece of a line: its text, confidence, and (4, 2) box clockwise from its top-left; the piece is
    ``reading.text[first:end]`` of the line's reading (end None: to the end)."""

    text: str
    confidence: float
    box: np.ndarray
    first: int = 0
    end: int | None = None


def cut_points(reading: Reading, params: SegmentParams) -> list[int]:
    """Indices into ``reading.text`` where a new segment starts (none: the line stays whole)."""
    text, positions = reading.text, reading.positions
    if len(text) != len(positions) or len(text.replace(" ", "")) < params.min_chars:
        return []
    inked = [i for i, ch in enumerate(text) if not ch.isspace()]
    gaps = [positions[b] - positions[a] for a, b in zip(inked, inked[1:], strict=False)]
    pitch = float(np.median(gaps)) if gaps else 0.0
    limit = max(params.min_gap_columns, params.gap_pitches * pitch)
    return [b for (a, b), gap in zip(zip(inked, inked[1:], strict=False), gaps, strict=True) if gap >= limit]


def segments(reading: Reading, box: np.ndarray, params: SegmentParams) -> list[Segment]:
    """The line read as ``reading`` in the wide (4, 2) ``box`` (clockwise from top-left, text left to
    right), cut at its wide gaps; one segment, the whole line, when there is none."""
    cuts = cut_points(reading, params)
    if not cuts:
        return [Segment(reading.text, reading.confidence, box)]
    pieces, start = [], 0
    for cut in [*cuts, len(reading.text)]:
        pieces.append((start, cut))
        start = cut
    top, bottom = box[1] - box[0], box[2] - box[3]
    columns = max(reading.columns, 1)
    out = []
    for first, end in pieces:
        inked = [i for i in range(first, end) if not reading.text[i].isspace()]
        if not inked:
            continue
        lo = max(0.0, (reading.positions[inked[0]] - 1) / columns)  # a column of margin either side
        hi = min(1.0, (reading.positions[inked[-1]] + 2) / columns)
        piece = np.stack([box[0] + lo * top, box[0] + hi * top, box[3] + hi * bottom, box[3] + lo * bottom])
        probabilities = [reading.probabilities[i] for i in inked]
        out.append(Segment(reading.text[first:end].strip(), float(np.mean(probabilities)),
                           piece.astype(np.float32), first, end))
    return out
