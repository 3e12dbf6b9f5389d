"""Measured image quality: how blurred, how contrasted, and how tall the text is, in pixels.

``enhance="auto"`` decides from these numbers (``ocrq.ocr.auto``) instead of enhancing every image: the
recognisers were trained on ordinary photos and scans, so a filter that helps a blurred page hurts a sharp
one. Each measure is a pure function of an array, cheap next to one model call. The engine uses
``edge_sharpness`` and ``median_grey``; ``measure_page``, ``laplacian_variance`` and ``text_height`` are
what ``bench/quality.py`` reports per dataset, where the thresholds were chosen (the rules use edge
sharpness, not the Laplacian variance, which depends on how much of the page is text).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the Laplacian of an (H, W) uint8 image: low values mean few sharp edges (blur).

    Depends on how much of the image is text, so it ranks images of one kind better than it compares
    a receipt with a form; ``edge_sharpness`` is the content-independent measure.
    """
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


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


def text_height(boxes: np.ndarray) -> float:
    """Median height in pixels of (N, 4, 2) line boxes (clockwise from top-left); 0 when there are none.

    Height is the box's shorter side, so a vertical line's width counts, not its length.
    """
    if len(boxes) == 0:
        return 0.0
    sides_a = np.linalg.norm(boxes[:, 0] - boxes[:, 1], axis=1)
    sides_b = np.linalg.norm(boxes[:, 1] - boxes[:, 2], axis=1)
    return float(np.median(np.minimum(sides_a, sides_b)))


@dataclass(frozen=True)
class PageQuality:
    """What ``measure_page`` found: Laplacian variance, edge sharpness (0..1), grey spread (0..255)."""

    blur: float
    sharpness: float
    contrast: float


def measure_page(image: np.ndarray, max_side: int = 1024) -> PageQuality:
    """Quality of an (H, W, 3) BGR or (H, W) page, measured on a copy no larger than ``max_side``.

    Shrinking first keeps the cost flat; sharpness is measured after the shrink, so it is "how sharp at
    this scale", which is what detection at that scale sees.
    """
    gray = shrink_to(image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), max_side)
    return PageQuality(laplacian_variance(gray), edge_sharpness(gray), contrast_spread(gray))
