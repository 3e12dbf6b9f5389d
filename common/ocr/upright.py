"""Page orientation: which quarter turn makes a page upright, decided once per page from its first
detection, cheaply.

The detector finds lines however a page is turned; their boxes and the line classifier (upright or
upside down) tell how it lies:

- Most of the text in wide boxes: upright or upside down. The classifier looks at the longest lines and
  the page is turned 180 degrees when the lines it is sure of say "upside down" by length.
- Most of the text in tall boxes: the page lies on its side, or its text is vertical (Chinese written top
  to bottom). A tall line is cut out turned a quarter counter-clockwise (ocrq.ocr.geometry.crop_line), as
  vertical text and a page turned clockwise both read; a page turned counter-clockwise then reads upside
  down, which the classifier sees. Vertical text and a page turned clockwise read the same way, so the
  recogniser tells them apart: the characters of a vertical line, cut apart and set side by side, read
  as a line (they stand upright), those of a sideways line do not.

Before a page is turned over, the recogniser confirms: its longest lines must read more likely turned
than as they are (the classifier is fooled by blur now and then).

``angle`` is the clockwise rotation (0, 90, 180, 270 degrees) that makes the page as uploaded upright;
the engine reads the turned page and gives boxes back in the uploaded page's coordinates (``unturn``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ocrq.ocr.geometry import box_sides
from ocrq.ocr.orient import LineAngles
from ocrq.ocr.recognize import Recognition


class Classifier(Protocol):
    def angles(self, crops: Sequence[np.ndarray]) -> LineAngles: ...


class Recognizer(Protocol):
    def __call__(self, crops: Sequence[np.ndarray], seed_resize: bool = False) -> Recognition: ...


@dataclass(frozen=True)
class UprightParams:
    """How the page's orientation is decided (the values measured in bench/README.md, "Orientation")."""

    sample: int = 12  # the longest lines of the page's dominant direction are classified
    aspect: float = 1.5  # a box is wide (tall) when it is this many times wider (taller) than it is tall
    tall_share: float = 0.6  # sideways or vertical when tall boxes hold this share of the text's length
    sure: float = 0.8  # a classifier verdict counts when its probability is at least this
    confirm_sample: int = 3  # lines read both ways round before a page is turned upside down
    vertical_sample: int = 4  # tall lines read as cut-apart characters to tell vertical text
    vertical_confidence: float = 0.8  # ...which it is when they read at least this sure (median)


@dataclass(frozen=True)
class PageTurn:
    """The clockwise quarter turn that makes the page upright; whether its lines are vertical text."""

    angle: int = 0
    vertical: bool = False
    elapsed: float = 0.0
    onnx: float = 0.0


def _mean_path(recognition: Recognition) -> float:
    """The mean best-path log-probability of readings (higher: more likely the text reads this way)."""
    return float(np.mean([r.path_score for r in recognition.readings])) if recognition.readings else 0.0


def characters_side_by_side(tall: np.ndarray) -> np.ndarray:
    """A tall (h, w, 3) line cut at the blank rows between its characters, the pieces set left to right
    (pieces shorter than half the line's width join the next: parts of one character). (w', w'', 3)."""
    grey = cv2.cvtColor(tall, cv2.COLOR_BGR2GRAY)
    lo, hi = int(grey.min()), int(grey.max())
    dark_text = np.median(grey) > (lo + hi) / 2
    ink = (grey < (lo + hi) / 2) if dark_text else (grey > (lo + hi) / 2)
    rows = np.concatenate([ink.any(axis=1), [False]])
    width = tall.shape[1]
    pieces: list[list[int]] = []
    start = None
    for y, inked in enumerate(rows):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            if pieces and pieces[-1][1] - pieces[-1][0] < 0.5 * width and y - pieces[-1][0] <= 1.2 * width:
                pieces[-1][1] = y
            else:
                pieces.append([start, y])
            start = None
    if not pieces:
        return tall
    fill = int(np.median(grey))  # the ground
    cells = []
    for top, bottom in pieces:
        cell = tall[top:bottom]
        pad = max(0, width - (bottom - top)) // 2
        cells.append(cv2.copyMakeBorder(cell, pad, pad, 2, 2, cv2.BORDER_CONSTANT, value=(fill,) * 3))
    height = max(c.shape[0] for c in cells)
    cells = [cv2.copyMakeBorder(c, 0, height - c.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(fill,) * 3)
             for c in cells]
    return np.ascontiguousarray(np.concatenate(cells, axis=1))


class PageOrienter:
    """``__call__(boxes, crops) -> PageTurn`` for a page's first detection (boxes (N, 4, 2) in reading
    order, each line's crop as ``crop_line`` cuts it). Holds nothing between calls."""

    def __init__(self, classifier: Classifier, recognizer: Recognizer,
                 params: UprightParams | None = None) -> None:
        self.classifier = classifier
        self.recognizer = recognizer
        self.params = params or UprightParams()

    def __call__(self, boxes: np.ndarray, crops: Sequence[np.ndarray]) -> PageTurn:
        start = time.perf_counter()
        p = self.params
        if len(boxes) == 0:
            return PageTurn()
        width, height = box_sides(boxes)
        tall = height >= p.aspect * width
        wide = width >= p.aspect * height
        length = np.maximum(width, height)
        tall_length, wide_length = float(length[tall].sum()), float(length[wide].sum())
        sideways = tall_length > 0 and tall_length >= p.tall_share * (tall_length + wide_length)
        kind = tall if sideways else (wide if wide_length > 0 else np.ones_like(wide))
        candidates = np.flatnonzero(kind)
        sample = candidates[np.argsort(-length[candidates], kind="stable")][: p.sample]
        angles = self.classifier.angles([crops[i] for i in sample])
        onnx = angles.onnx
        flipped = float(length[sample][angles.p180 >= p.sure].sum())
        upright = float(length[sample][angles.p180 <= 1 - p.sure].sum())
        upside_down = flipped > upright
        if upside_down:  # the classifier can be fooled (blur, light on dark): the recogniser confirms
            check = [crops[i] for i in sample[: p.confirm_sample]]
            as_is = self.recognizer(check)
            turned = self.recognizer([np.ascontiguousarray(cv2.rotate(c, cv2.ROTATE_180)) for c in check])
            onnx += as_is.onnx + turned.onnx
            upside_down = _mean_path(turned) > _mean_path(as_is)
        if not sideways:
            return PageTurn(180 if upside_down else 0, False, time.perf_counter() - start, onnx)
        if upside_down:  # turned counter-clockwise: a clockwise quarter turn makes it upright
            return PageTurn(90, False, time.perf_counter() - start, onnx)
        tallest = sample[: p.vertical_sample]
        restacked = self.recognizer([characters_side_by_side(np.ascontiguousarray(np.rot90(crops[i], -1)))
                                     for i in tallest])
        onnx += restacked.onnx
        vertical = float(np.median([r.confidence for r in restacked.readings])) >= p.vertical_confidence
        return PageTurn(0 if vertical else 270, vertical, time.perf_counter() - start, onnx)


ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turn(image: np.ndarray, angle: int) -> np.ndarray:
    """An (H, W, C) image turned ``angle`` degrees clockwise (0, 90, 180, 270), exactly."""
    return image if angle == 0 else cv2.rotate(image, ROTATIONS[angle])


def unturn(boxes: np.ndarray, angle: int, width: int, height: int) -> np.ndarray:
    """Points (N, 4, 2) of the page turned ``angle`` clockwise, in the (width x height) page as uploaded.
    The points keep their order: the first is still the text's own top-left corner."""
    if angle == 0 or len(boxes) == 0:
        return boxes
    x, y = boxes[..., 0], boxes[..., 1]
    if angle == 90:  # turned: x' = height - y, y' = x
        back = np.stack([y, height - x], axis=-1)
    elif angle == 180:
        back = np.stack([width - x, height - y], axis=-1)
    else:  # 270: x' = y, y' = width - x
        back = np.stack([width - y, x], axis=-1)
    return back.astype(boxes.dtype)
