"""The rules of ``enhance="auto"``: what to do for one page and each of its lines, from measured quality.

Each rule was kept because ``bench/accuracy.py`` showed it helps degraded pages and costs clean ones
(almost) nothing; the measurements, and the rules that were tried and dropped, are in bench/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.ocr.enhance import unsharp_mask
from ocrq.ocr.geometry import box_sides
from ocrq.ocr.quality import edge_sharpness, median_grey


@dataclass(frozen=True)
class AutoParams:
    """Thresholds of the auto mode, chosen by the benchmark; a threshold of 0 turns its rule off."""

    # A page whose median grey level is below this has a dark ground: it is detected in both polarities
    # and read in the one where the detector finds more text (blurred light-on-dark text is often missed).
    invert_below: float = 64.0
    # When the detector enlarged the page and the median edge sharpness of the lines it found is below
    # this, detection is re-run at native_scale times the page's own scale (at most the first pass's):
    # enlarging blurred text a lot makes the detector miss it. 1.5 rather than 1.0 with the sharpened
    # detection below: SROIE mix 30.35 -> 29.12 % (bench/README.md, "Blurred pages detected sharpened").
    native_below: float = 0.8
    native_scale: float = 1.5
    # When the median edge sharpness of the first detection's lines is below this, the detector's weaker
    # regions (DetParams.candidate_box_thresh up to box_thresh) are read too: blur lowers the text
    # probability of whole lines. SROIE mix 33.41 -> 33.15 %, blur2 10.78 -> 10.61 %, synthetic mix
    # 32.19 -> 31.98 %, clean pages unchanged (bench/README.md, "Weaker regions on blurred pages").
    candidates_below: float = 0.8
    # ...and such a page is detected again unsharp-masked (Gaussian sigma in page pixels, amount; 0
    # turns it off), its lines still cut from the page as it is: the detector's text probability of
    # blurred strokes rises. With native_scale: SROIE mix 33.05 -> 29.12 %, blur2 10.61 -> 9.12 %,
    # synthetic mix 31.98 -> 30.86 %, synthetic blur2 3.70 -> 2.60 %; sharp pages untouched (bench/README.md).
    detect_sharpen_sigma: float = 2.0
    detect_sharpen_amount: float = 2.0
    # When the median height of a sharp page's lines is below this (page pixels: a low-resolution page or
    # small print), the page is detected again enlarged so its lines are small_text_target pixels high in
    # the detector's input (when they are not already), within small_text_max_side and
    # small_text_max_pixels (a larger input read better but held the worker at 1.3 GB). SROIE 4.89 ->
    # 4.82 %, lowres 7.78 -> 7.37 %, synthetic lowres 1.97 -> 1.19 %, JPEG 5.56 -> 5.67 % (its cost); blurred
    # pages are left to the rules above (bench/README.md, "Small text").
    small_text_below: float = 24.0
    small_text_target: float = 40.0
    small_text_max_side: int = 2560
    small_text_max_pixels: int = 3_000_000
    # A line crop whose edge sharpness (ocrq.ocr.quality.edge_sharpness) is below this is blurred: it is
    # sharpened by unsharp masking (Gaussian sigma in crop pixels, amount) before recognition...
    sharpen_below: float = 0.8
    sharpen_sigma: float = 1.5
    sharpen_amount: float = 1.0
    # ...and kept down to this confidence instead of the engine's min_confidence, since right readings of
    # blurred lines are less sure. None keeps the engine's threshold for every line.
    blurred_min_confidence: float | None = 0.3
    # A line read with less confidence than this is read again in its other version (sharpened if it was
    # not, as cropped if it was) and the more likely reading is kept (ocrq.ocr.retry). Off (0): with
    # per-line recognition and segments it made every degraded set worse, real and synthetic (SROIE
    # blur2 10.78 -> 10.91 %, mix 33.41 -> 33.50 %, synth mix 32.19 -> 32.36 %; bench/README.md).
    retry_below: float = 0.0
    retry_limit: int = 64  # at most this many lines per page get a second look


def is_dark_page(image: np.ndarray, params: AutoParams) -> bool:
    """True when an (H, W, 3) page is mostly dark, i.e. light text on a dark ground."""
    return params.invert_below > 0 and median_grey(image) < params.invert_below


def text_evidence(scores: np.ndarray) -> float:
    """How much text a detection found: the sum of its (N,) box scores, i.e. lines weighted by how sure.

    Compares two detections of one page (its two polarities). Covered area was tried and favours the
    polarity whose blurred lines merge into a few large boxes (bench/README.md).
    """
    return float(np.sum(scores))


def sharpen_line(crop: np.ndarray, params: AutoParams) -> np.ndarray:
    """Unsharp-masked copy of an (h, w, 3) uint8 line crop (same shape)."""
    return unsharp_mask(crop, params.sharpen_sigma, params.sharpen_amount)


def sharpen_page_for_detection(image: np.ndarray, params: AutoParams) -> np.ndarray:
    """Unsharp-masked copy of a blurred (H, W, 3) uint8 page for the detector (same shape)."""
    return unsharp_mask(image, params.detect_sharpen_sigma, params.detect_sharpen_amount)


def line_sharpness(crop: np.ndarray) -> float:
    """Edge sharpness (ocrq.ocr.quality.edge_sharpness) of an (h, w, 3) or (h, w) uint8 line crop."""
    if crop.size == 0:
        return 0.0
    return edge_sharpness(crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))


def is_blurred_line(sharpness: float, params: AutoParams) -> bool:
    """True when a line of this edge sharpness is soft enough that sharpening it helps."""
    return sharpness < params.sharpen_below


def native_redetection_scale(sharpness: list[float], input_scale: float, params: AutoParams) -> float | None:
    """The scale (over the page's own) to detect the page again at when the first detection enlarged it
    and its lines are blurred, else None. ``input_scale``: the height the model saw over the height it
    would see at the page's own scale (1 when only rounded)."""
    if params.native_below > 0 and input_scale > 1.0 and bool(sharpness) and (
            float(np.median(sharpness)) < params.native_below):
        return min(params.native_scale, input_scale)
    return None


def line_height(boxes: np.ndarray) -> float:
    """Median height of (N, 4, 2) line boxes (the shorter side of each, so vertical lines count too); 0
    without lines."""
    if not len(boxes):
        return 0.0
    width, height = box_sides(boxes)
    return float(np.median(np.minimum(width, height)))


def small_text_scale(boxes: np.ndarray, page_hw: tuple[int, int], input_scale: float,
                     params: AutoParams) -> float | None:
    """The scale to detect an (H, W) page again at when its lines (``boxes`` (N, 4, 2) in page pixels)
    are small, so they reach ``small_text_target`` pixels in the detector's input; None when they are
    not small, or are that high already (``input_scale``: the first input's height over the page's)."""
    height = line_height(boxes)
    if params.small_text_below <= 0 or height <= 0 or height >= params.small_text_below:
        return None
    scale = min(params.small_text_target / height, params.small_text_max_side / max(page_hw),
                float(np.sqrt(params.small_text_max_pixels / (page_hw[0] * page_hw[1]))))
    return scale if scale > input_scale * 1.05 else None


def keep_candidates(sharpness: list[float], params: AutoParams) -> bool:
    """True when the page's lines are blurred: its weaker detected regions are read too."""
    return params.candidates_below > 0 and bool(sharpness) and (
        float(np.median(sharpness)) < params.candidates_below
    )
