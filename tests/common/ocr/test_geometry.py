import numpy as np

from ocrq.ocr.geometry import crop_line, reading_order


def rect(x0, y0, x1, y1):
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_reading_order_rows_then_columns():
    boxes = np.stack([
        rect(300, 102, 400, 122),  # row 1, right (slightly lower)
        rect(10, 200, 100, 220),  # row 2
        rect(10, 100, 100, 120),  # row 1, left
        rect(150, 98, 250, 118),  # row 1, middle (slightly higher)
    ])
    assert reading_order(boxes) == [2, 3, 0, 1]


def test_reading_order_empty():
    assert reading_order(np.zeros((0, 4, 2), np.float32)) == []


def test_crop_axis_aligned_is_a_slice():
    image = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    crop = crop_line(image, rect(20, 10, 120, 40))
    assert crop.shape == (30, 100, 3)
    assert (crop == image[10:40, 20:120]).all()


def test_crop_vertical_text_is_turned():
    image = np.zeros((300, 100, 3), np.uint8)
    crop = crop_line(image, rect(10, 10, 40, 210))
    assert crop.shape[1] > crop.shape[0]


def test_crop_tilted_box_is_upright_rectangle():
    image = np.full((200, 300, 3), 255, np.uint8)
    box = np.float32([[50, 60], [250, 40], [252, 70], [52, 90]])
    crop = crop_line(image, box)
    assert abs(crop.shape[1] - 201) <= 2 and abs(crop.shape[0] - 30) <= 2


def tilted(x0, y0, length, height, degrees):
    """A (4, 2) box of a line starting at (x0, y0), tilted ``degrees`` (descending to the right)."""
    a = np.radians(degrees)
    along, down = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    start = np.array([x0, y0], np.float32)
    return np.stack([start, start + length * along, start + length * along + height * down,
                     start + height * down]).astype(np.float32)


def test_reading_order_follows_the_rows_of_a_tilted_page():
    """At 8 degrees a long line's right end sits lower than the next row's left end: rows are found on
    the levelled page, not by raw heights."""
    from ocrq.ocr.geometry import skew

    rows = [tilted(50, 50 + 40 * k, 600, 24, 8) for k in range(4)]
    right_halves = [tilted(50 + 700 * np.cos(np.radians(8)), 50 + 40 * k + 700 * np.sin(np.radians(8)), 200,
                           24, 8) for k in range(4)]
    boxes = np.stack(rows + right_halves)  # row k: boxes k (left) and 4 + k (right)
    assert abs(skew(boxes) - np.radians(8)) < 0.01
    assert reading_order(boxes) == [0, 4, 1, 5, 2, 6, 3, 7]


def test_vertical_columns_read_right_to_left():
    from ocrq.ocr.geometry import column_order

    columns = np.stack([rect(100, 10, 130, 300), rect(20, 10, 50, 200), rect(60, 10, 90, 150),
                        rect(60, 170, 90, 290)])
    assert column_order(columns) == [0, 2, 3, 1]


def test_edge_fragments_are_slivers_cut_by_the_border_only():
    from ocrq.ocr.geometry import edge_fragments

    image = np.full((200, 300, 3), 255, np.uint8)
    image[0:6, 20:120] = 0  # the bottom of a line above the edge: ink in the border row
    image[80:110, 20:250] = 0
    image[140:170, 20:250] = 0
    image[192:200, 20:80] = 255  # the bottom box below holds no ink in the last row
    boxes = np.stack([rect(18, 0, 122, 8), rect(18, 78, 252, 112), rect(18, 138, 252, 172),
                      rect(18, 186, 82, 200)])
    assert edge_fragments(boxes, image) == [True, False, False, False]
    assert edge_fragments(boxes[:1], image) == [False]  # alone: nothing to compare it with


def test_a_box_at_the_border_is_cropped_with_the_margin_it_lacks():
    from ocrq.ocr.geometry import crop_with_margin

    image = np.full((20, 100, 3), 200, np.uint8)
    whole = rect(0, 0, 100, 20)  # a tight crop: the line is the image
    crop = crop_with_margin(image, whole)
    assert crop.shape[0] > 20 and crop.shape[1] > 100 and (crop == 200).all()  # grown into its own ground
    inner = rect(10, 5, 50, 15)
    assert np.array_equal(crop_with_margin(image, inner), crop_line(image, inner))
