"""The benchmark's page measures (bench/page_measures.py) on arrays whose answer is known."""

import cv2
import numpy as np
import pytest

from bench.page_measures import laplacian_variance, measure_page, text_height
from tests.common.ocr.test_quality import grey_page


def test_blur_lowers_the_laplacian_variance():
    sharp = grey_page()
    assert laplacian_variance(cv2.GaussianBlur(sharp, (0, 0), 2.0)) < 0.2 * laplacian_variance(sharp)
    assert laplacian_variance(np.full((50, 80), 200, np.uint8)) == 0.0


def test_text_height_is_the_median_short_side():
    def box(x0, y0, w, h):
        return [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]

    boxes = np.asarray([box(0, 0, 200, 20), box(0, 30, 100, 24), box(0, 60, 300, 30)], np.float32)
    assert text_height(boxes) == pytest.approx(24)
    vertical = np.asarray([box(0, 0, 20, 300)], np.float32)
    assert text_height(vertical) == pytest.approx(20)
    assert text_height(np.zeros((0, 4, 2), np.float32)) == 0.0


def test_measure_page_is_scale_bounded_and_ordered():
    page = cv2.cvtColor(grey_page(40), cv2.COLOR_GRAY2BGR)
    big = cv2.resize(page, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    quality = measure_page(big, max_side=512)
    blurred = measure_page(cv2.GaussianBlur(big, (0, 0), 6.0), max_side=512)
    assert quality.sharpness > blurred.sharpness
    assert quality.contrast > 100



def test_measure_page_survives_a_strip():
    assert measure_page(np.full((1, 20000, 3), 37, np.uint8), max_side=64).contrast == 0.0
