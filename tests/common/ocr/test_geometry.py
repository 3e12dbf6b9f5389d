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
