"""Quality measures on arrays whose answer is known: blur lowers sharpness, not contrast; boxes, heights."""

import cv2
import numpy as np
import pytest

from ocrq.ocr.quality import (
    contrast_spread,
    edge_sharpness,
    laplacian_variance,
    measure_page,
    median_grey,
    text_height,
)
from tests.support.render import render_lines


def grey_page(size: int = 24) -> np.ndarray:
    page = np.asarray(render_lines(["质量检测 Quality 123", "模糊与清晰"], size=size))
    return cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)


def test_blur_lowers_sharpness_and_laplacian_variance():
    sharp = grey_page()
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    assert edge_sharpness(blurred) < 0.6 * edge_sharpness(sharp)
    assert laplacian_variance(blurred) < 0.2 * laplacian_variance(sharp)


def test_sharpness_does_not_depend_on_exposure():
    sharp = grey_page()
    faded = (sharp.astype(np.float32) * 0.4 + 120).astype(np.uint8)  # contrast squeezed to 40 %
    assert contrast_spread(faded) == pytest.approx(0.4 * contrast_spread(sharp), abs=2)
    assert edge_sharpness(faded) == pytest.approx(edge_sharpness(sharp), rel=0.1)


def test_flat_image_has_no_contrast_and_no_sharpness():
    flat = np.full((50, 80), 200, np.uint8)
    assert contrast_spread(flat) == 0.0
    assert edge_sharpness(flat) == 0.0
    assert laplacian_variance(flat) == 0.0


def test_median_grey_tells_dark_mode_from_paper():
    page = grey_page()
    assert median_grey(page) > 200
    assert median_grey(255 - page) < 50
    assert median_grey(cv2.cvtColor(255 - page, cv2.COLOR_GRAY2BGR)) < 50


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


@pytest.mark.parametrize("shape", [(1, 20000, 3), (20000, 1, 3), (1, 1, 3), (3, 9000)])
def test_median_grey_survives_extreme_aspect_ratios(shape):
    # a 1 x 20000 strip shrinks to 1 x 256, never to 0 x 256 (which OpenCV refuses)
    strip = np.full(shape, 37, np.uint8)
    assert median_grey(strip) == 37.0
    assert measure_page(strip, max_side=64).contrast == 0.0
