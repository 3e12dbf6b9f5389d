"""Page measures the benchmark reports per dataset (bench/quality.py), where the auto mode's thresholds were
chosen; the engine itself uses only edge sharpness and median grey (ocrq/ocr/quality.py). The rules use
edge sharpness, not the Laplacian variance, which depends on how much of the page is text.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.ocr.quality import contrast_spread, edge_sharpness, shrink_to


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the Laplacian of an (H, W) uint8 image: low values mean few sharp edges (blur).

    Depends on how much of the image is text, so it ranks images of one kind better than it compares
    a receipt with a form; ``edge_sharpness`` is the content-independent measure.
    """
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


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
