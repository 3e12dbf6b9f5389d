"""Lines cut at their wide gaps, from the CTC alignment alone (no model)."""

import numpy as np

from ocrq.ocr.ctc import Reading
from ocrq.ocr.segments import SegmentParams, cut_points, segments

BOX = np.float32([[0, 0], [400, 0], [400, 40], [0, 40]])


def reading(text: str, positions: list[int], columns: int = 100) -> Reading:
    return Reading(text, 0.9, -0.1, tuple(positions), tuple([0.9] * len(text)), columns)


def test_a_wide_gap_cuts_the_line_and_the_box_along_it():
    # "TOTAL" at columns 2..14 (pitch 3), then 40 columns of nothing, "12.50" at 60..72
    r = reading("TOTAL12.50", [2, 5, 8, 11, 14, 60, 63, 66, 69, 72])
    parts = segments(r, BOX, SegmentParams())
    assert [p.text for p in parts] == ["TOTAL", "12.50"]
    first, second = parts[0].box, parts[1].box
    assert np.allclose(first[:2, 0], [4.0, 64.0])  # columns 1..16 of 100, on a 400-pixel line
    assert np.allclose(second[:2, 0], [236.0, 296.0])
    assert (first[:, 1] == BOX[:, 1]).all() and all(0 < p.confidence <= 1 for p in parts)


def test_word_spaces_and_narrow_gaps_do_not_cut():
    words = reading("Thank you", [2, 5, 8, 11, 14, 16, 19, 22, 25])
    assert cut_points(words, SegmentParams()) == []
    assert [p.text for p in segments(words, BOX, SegmentParams())] == ["Thank you"]
    short = reading("1 x", [2, 3, 30])  # too few characters to cut
    assert cut_points(short, SegmentParams()) == []


def test_a_reading_without_an_alignment_is_kept_whole():
    plain = Reading("TOTAL 12.50", 0.9)
    assert [p.text for p in segments(plain, BOX, SegmentParams())] == ["TOTAL 12.50"]

