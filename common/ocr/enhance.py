"""Image enhancement as pure functions: the reference design's steps (grayscale, CLAHE, Otsu binarisation)
and the unsharp masking ``enhance="auto"`` applies to blurred lines (ocrq.ocr.auto).

The seed design enhanced every image before its CRNN; modern recognisers were trained on colour photos,
so ``ocrq.ocr.pipeline`` applies these only where the benchmark showed they help (see bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SeedSteps:
    """Which of the reference design's steps run in ``enhance="seed"``; each can be switched off alone."""

    grayscale: bool = True
    clahe: bool = True
    binarize: bool = True
    resize: bool = True  # INTER_AREA/INTER_CUBIC to the recogniser's height, white padding to a minimum width


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR or (H, W) -> (H, W) uint8 luminance (0.299 R + 0.587 G + 0.114 B)."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def apply_clahe(gray: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of an (H, W) uint8 image, tiles x tiles grid."""
    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles)).apply(gray)


def binarize_otsu(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8 of 0 and 255, threshold chosen by Otsu's method."""
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary


def seed_enhance(image: np.ndarray, steps: SeedSteps) -> np.ndarray:
    """The reference design's page enhancement: (H, W, 3) BGR -> (H, W, 3) BGR after the enabled steps."""
    if not (steps.grayscale or steps.clahe or steps.binarize):
        return image
    gray = to_gray(image)
    if steps.clahe:
        gray = apply_clahe(gray)
    if steps.binarize:
        gray = binarize_otsu(gray)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def unsharp_mask(image: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """(H, W[, 3]) uint8 -> same, ``image + amount * (image - gaussian(image, sigma))``, clipped to 0..255."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)
