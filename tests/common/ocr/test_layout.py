"""Reading order and blocks on synthetic box sets (no model): columns, titles, tables, single columns."""

import numpy as np

from ocrq.ocr.layout import layout

H = 20  # line height in pixels
STEP = 30  # line pitch


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def column(x0: float, x1: float, top: float, count: int, short_last: bool = False) -> list:
    rows = [rect(x0, top + k * STEP, x1, top + k * STEP + H) for k in range(count)]
    if short_last:
        rows[-1] = rect(x0, top + (count - 1) * STEP, x0 + (x1 - x0) / 3, top + (count - 1) * STEP + H)
    return rows


def order_of(boxes: list) -> list[int]:
    return layout(np.asarray(boxes, dtype=np.float32)).order


def test_two_columns_read_left_column_then_right():
    left, right = column(50, 450, 100, 8), column(500, 900, 100, 8)
    boxes = [b for pair in zip(left, right, strict=True) for b in pair]  # interleaved, as rows would be
    order = order_of(boxes)
    assert order == [*range(0, 16, 2), *range(1, 16, 2)]


def test_a_title_above_two_columns_comes_first_and_is_a_block_of_its_own():
    title = [rect(200, 30, 750, 30 + 1.6 * H)]
    left, right = column(50, 450, 100, 6, short_last=True), column(500, 900, 100, 5)
    boxes = title + right + left  # any input order
    result = layout(np.asarray(boxes, dtype=np.float32))
    assert result.order == [0, *range(6, 12), *range(1, 6)]
    assert result.blocks[0] == [0] and len(result.blocks) >= 3


def test_a_blank_line_in_one_column_does_not_split_the_columns():
    left = column(50, 450, 100, 4) + column(50, 450, 100 + 5 * STEP, 4)  # a paragraph break
    right = column(500, 900, 100, 9)
    result = layout(np.asarray(left + right, dtype=np.float32))
    assert result.order == list(range(17))
    assert [len(b) for b in result.blocks] == [4, 4, 9]  # two paragraphs on the left, one on the right


def test_three_columns_then_a_full_width_paragraph():
    cols = [column(50 + k * 320, 330 + k * 320, 100, 5) for k in range(3)]
    foot = column(50, 970, 100 + 5 * STEP + 2 * H, 2)
    boxes = foot + cols[2] + cols[0] + cols[1]
    assert order_of(boxes) == [*range(7, 12), *range(12, 17), *range(2, 7), 0, 1]


def test_a_table_reads_row_by_row_not_column_by_column():
    boxes = []
    for r in range(6):
        y = 100 + r * STEP
        boxes += [rect(50, y, 260, y + H), rect(400, y, 460, y + H), rect(560, y, 640, y + H)]
    order = order_of(boxes)
    assert order == list(range(len(boxes)))  # label, quantity, price; next row


def test_a_table_below_two_columns_keeps_its_rows():
    left, right = column(50, 450, 100, 5), column(500, 900, 100, 5)
    table = []
    for r in range(3):
        y = 100 + 5 * STEP + 2 * H + r * STEP
        table += [rect(50, y, 300, y + H), rect(600, y, 660, y + H), rect(780, y, 860, y + H)]
    boxes = left + right + table
    assert order_of(boxes) == list(range(len(boxes)))


def test_one_column_with_indents_and_short_lines_stays_top_to_bottom():
    boxes = []
    for k in range(12):
        x0 = 90 if k % 4 == 0 else 50  # a first-line indent
        x1 = 300 if k % 4 == 3 else 900  # a paragraph's short last line
        boxes.append(rect(x0, 100 + k * STEP, x1, 100 + k * STEP + H))
    boxes[5] = rect(500, 100 + 5 * STEP, 900, 100 + 5 * STEP + H)  # a right-aligned line
    result = layout(np.asarray(boxes, dtype=np.float32))
    assert result.order == list(range(12))


def test_a_tilted_page_cuts_as_it_would_upright():
    left, right = column(50, 450, 100, 6), column(500, 900, 100, 6)
    angle = np.deg2rad(4)
    turn = np.asarray([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    boxes = np.asarray(left + right, dtype=np.float64) @ turn.T
    assert layout(boxes).order == list(range(12))


def test_no_lines_no_blocks():
    empty = layout(np.zeros((0, 4, 2), dtype=np.float32))
    assert empty.order == [] and empty.blocks == []


def test_a_table_close_under_three_columns_is_not_read_into_them():
    cols = [column(50 + k * 320, 330 + k * 320, 100, 5) for k in range(3)]
    table = []
    for r in range(3):  # no wider a gap above it than between lines; its price cells span a gutter
        y = 100 + 5 * STEP + r * STEP
        table += [rect(50, y, 300, y + H), rect(500, y, 560, y + H), rect(620, y, 700, y + H),
                  rect(850, y, 930, y + H)]
    boxes = [b for col in cols for b in col] + table
    assert order_of(boxes) == list(range(len(boxes)))
