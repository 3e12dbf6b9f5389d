"""Measured image quality: how blurred and how contrasted an image is, as the auto rules use it.

``enhance="auto"`` decides from these numbers (``ocrq.ocr.auto``) instead of enhancing every image: the
recognisers were trained on ordinary photos and scans, so a filter that helps a blurred page hurts a sharp
one. Each measure is a pure function of an array, cheap next to one model call. The page measures used
only to choose thresholds (Laplacian variance, text height) are in bench/page_measures.py.
"""

from __future__ import annotations

import cv2
import numpy as np


def grey_percentiles(gray: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Percentiles (0..100) of an (H, W) uint8 image from its histogram: exact for integers, and much
    cheaper than ``np.percentile`` on the many small line crops of a page."""
    counts = np.bincount(gray.ravel(), minlength=256).cumsum()
    n = int(counts[-1])
    if n == 0:
        return [0.0 for _ in qs]
    return [float(np.searchsorted(counts, q / 100.0 * (n - 1), side="right")) for q in qs]


def contrast_spread(gray: np.ndarray) -> float:
    """Grey levels between the 5th and 95th percentile of an (H, W) uint8 image (0..255)."""
    lo, hi = grey_percentiles(gray, (5.0, 95.0))
    return hi - lo


def edge_sharpness(gray: np.ndarray) -> float:
    """Steepest edges relative to the image's contrast, for an (H, W) uint8 image; about 0..2.

    The 99th percentile of the gradient magnitude (3x3 Sobel) divided by 4x the 5-95 % grey spread: a
    sharp black-on-white edge steps the full spread within a pixel or two, a blurred one spreads it over
    several, whatever the page's exposure. Measured on text lines, blurred sets sit below 0.8 and sharp
    ones above (bench/README.md).
    """
    if gray.size == 0:
        return 0.0
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy).ravel()
    k = int(0.99 * (magnitude.size - 1))
    steepest = float(np.partition(magnitude, k)[k])
    return steepest / (4.0 * max(contrast_spread(gray), 1.0))


def shrink_to(image: np.ndarray, max_side: int) -> np.ndarray:
    """An (H, W[, C]) image shrunk (INTER_AREA, aspect kept) so its longer side is at most ``max_side``;
    each side keeps at least one pixel, so a 1 x 20000 strip stays an image."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def median_grey(image: np.ndarray, max_side: int = 256) -> float:
    """Median grey level (0..255) of an (H, W, 3) BGR or (H, W) image, from a copy shrunk to ``max_side``."""
    image = shrink_to(image, max_side)
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(np.median(grey))
