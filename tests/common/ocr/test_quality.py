"""Quality measures on arrays whose answer is known: blur lowers sharpness, exposure does not."""

import cv2
import numpy as np
import pytest

from ocrq.ocr.quality import contrast_spread, edge_sharpness, median_grey
from tests.support.render import render_lines


def grey_page(size: int = 24) -> np.ndarray:
    page = np.asarray(render_lines(["质量检测 Quality 123", "模糊与清晰"], size=size))
    return cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)


def test_blur_lowers_sharpness():
    sharp = grey_page()
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    assert edge_sharpness(blurred) < 0.6 * edge_sharpness(sharp)


def test_sharpness_does_not_depend_on_exposure():
    sharp = grey_page()
    faded = (sharp.astype(np.float32) * 0.4 + 120).astype(np.uint8)  # contrast squeezed to 40 %
    assert contrast_spread(faded) == pytest.approx(0.4 * contrast_spread(sharp), abs=2)
    assert edge_sharpness(faded) == pytest.approx(edge_sharpness(sharp), rel=0.1)


def test_flat_image_has_no_contrast_and_no_sharpness():
    flat = np.full((50, 80), 200, np.uint8)
    assert contrast_spread(flat) == 0.0
    assert edge_sharpness(flat) == 0.0


def test_median_grey_tells_dark_mode_from_paper():
    page = grey_page()
    assert median_grey(page) > 200
    assert median_grey(255 - page) < 50
    assert median_grey(cv2.cvtColor(255 - page, cv2.COLOR_GRAY2BGR)) < 50


@pytest.mark.parametrize("shape", [(1, 20000, 3), (20000, 1, 3), (1, 1, 3), (3, 9000)])
def test_median_grey_survives_extreme_aspect_ratios(shape):
    # a 1 x 20000 strip shrinks to 1 x 256, never to 0 x 256 (which OpenCV refuses)
    strip = np.full(shape, 37, np.uint8)
    assert median_grey(strip) == 37.0
