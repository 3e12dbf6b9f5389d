"""The page-orientation decision with stand-in classifier and recogniser: each verdict from its evidence."""

from __future__ import annotations

import numpy as np

from ocrq.ocr.ctc import Reading
from ocrq.ocr.orient import LineAngles
from ocrq.ocr.recognize import Recognition
from ocrq.ocr.upright import PageOrienter, characters_side_by_side


def rect(x0, y0, x1, y1):
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


class Votes:
    """Says every crop is upside down with probability ``p180``."""

    def __init__(self, p180: float) -> None:
        self.p180, self.seen = p180, 0

    def angles(self, crops):
        self.seen += len(crops)
        return LineAngles(np.full((len(crops),), self.p180, np.float32), 0.001, 0.001)


class Reader:
    """The recogniser's two uses here, one call each: confirming a turn over (the first call reads the
    lines as they are, path score ``as_is``; the second turned over, ``turned``), or telling vertical
    text (one call on the cut-apart characters, read with confidence ``restacked``)."""

    def __init__(self, as_is: float = -0.1, turned: float = -0.5, restacked: float = 0.2) -> None:
        self.as_is, self.turned, self.restacked, self.calls = as_is, turned, restacked, []

    def __call__(self, crops, seed_resize=False):
        self.calls.append(len(crops))
        score = self.as_is if len(self.calls) % 2 else self.turned
        return Recognition([Reading("x", self.restacked, score) for _ in crops], 0.01, 0.01)


def crops_for(boxes):
    """What crop_line gives: wide crops as they are, tall ones turned a quarter (now wide)."""
    out = []
    for box in boxes:
        w, h = int(box[1, 0] - box[0, 0]), int(box[3, 1] - box[0, 1])
        out.append(np.full((min(w, h), max(w, h), 3), 255, np.uint8))
    return out


WIDE = np.stack([rect(10, 10 + 40 * k, 400, 40 + 40 * k) for k in range(5)])
TALL = np.stack([rect(10 + 40 * k, 10, 40 + 40 * k, 400) for k in range(5)])


def test_an_upright_page_stays_and_costs_one_small_classification():
    votes, reader = Votes(0.02), Reader()
    turn = PageOrienter(votes, reader)(WIDE, crops_for(WIDE))
    assert (turn.angle, turn.vertical) == (0, False) and votes.seen == 5 and reader.calls == []


def test_an_upside_down_page_is_turned_once_the_recogniser_agrees():
    turn = PageOrienter(Votes(0.97), Reader(as_is=-0.9, turned=-0.05))(WIDE, crops_for(WIDE))
    assert turn.angle == 180
    fooled = PageOrienter(Votes(0.97), Reader(as_is=-0.05, turned=-0.9))(WIDE, crops_for(WIDE))
    assert fooled.angle == 0  # the classifier alone does not turn a page


def test_a_page_on_its_side_is_turned_the_right_way():
    counter = PageOrienter(Votes(0.98), Reader(as_is=-0.9, turned=-0.05))(TALL, crops_for(TALL))
    assert counter.angle == 90  # turned counter-clockwise: a clockwise quarter turn makes it upright
    clockwise = PageOrienter(Votes(0.01), Reader(restacked=0.3))(TALL, crops_for(TALL))  # cut apart: no read
    assert (clockwise.angle, clockwise.vertical) == (270, False)


def test_vertical_text_is_not_turned():
    reader = Reader(restacked=0.95)  # its characters side by side read as a line
    turn = PageOrienter(Votes(0.01), reader)(TALL, crops_for(TALL))
    assert reader.calls == [4]  # the four tallest lines
    assert (turn.angle, turn.vertical) == (0, True)


def test_no_lines_no_turn():
    assert PageOrienter(Votes(0.9), Reader())(np.zeros((0, 4, 2), np.float32), []).angle == 0


def test_characters_of_a_column_are_set_side_by_side():
    column = np.full((130, 30, 3), 255, np.uint8)
    for k in range(4):  # four 20-pixel characters, 10 pixels apart
        column[5 + 32 * k: 25 + 32 * k, 5:25] = 0
    row = characters_side_by_side(column)
    assert row.shape[1] > row.shape[0]  # wider than tall now
    ink_columns = np.flatnonzero((row[:, :, 0] < 128).any(axis=0))
    assert len(np.flatnonzero(np.diff(ink_columns) > 1)) == 3  # four separate characters in a row
