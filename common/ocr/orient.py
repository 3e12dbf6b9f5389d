"""Text-line orientation: a small classifier that tells upright lines from lines turned 180 degrees."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.ocr.session import TimedModel


@dataclass(frozen=True)
class OrientParams:
    """Input size (H, W) of the classifier, how lines are fitted to it, and the flip threshold."""

    size: tuple[int, int] = (48, 192)
    keep_aspect: bool = True  # True: resize to H keeping aspect, pad right; False: stretch to (H, W)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    threshold: float = 0.9  # a line is a suspect (read again turned over) when the classifier is this sure
    batch: int = 16


@dataclass
class LineAngles:
    """Per line, the classifier's probability that it is turned 180 degrees (N,); the stage's seconds."""

    p180: np.ndarray
    elapsed: float = 0.0
    onnx: float = 0.0


class LineOrienter:
    """``angles(crops) -> LineAngles``: how likely each line is upside down. Holds nothing between calls;
    what is done with the verdicts is the page's (ocrq.ocr.upright) and the engine's business."""

    def __init__(self, model: TimedModel, params: OrientParams) -> None:
        self.model = model
        self.params = params

    def _fit(self, crop: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 -> (3, H, W) float32 normalised, as the classifier was trained."""
        height, width = self.params.size
        if self.params.keep_aspect:
            new_w = min(width, max(1, int(np.ceil(height * crop.shape[1] / max(crop.shape[0], 1)))))
        else:
            new_w = width
        resized = cv2.resize(crop, (new_w, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        mean, std = np.asarray(self.params.mean, np.float32), np.asarray(self.params.std, np.float32)
        resized = (resized - mean) / std
        fitted = np.zeros((3, height, width), dtype=np.float32)
        fitted[:, :, :new_w] = resized.transpose(2, 0, 1)
        return fitted

    def angles(self, crops: Sequence[np.ndarray]) -> LineAngles:
        """The probability that each (h, w, 3) crop is upside down, in batches of ``params.batch``."""
        start = time.perf_counter()
        p180, onnx = np.zeros((len(crops),), np.float32), 0.0
        for first in range(0, len(crops), self.params.batch):
            ids = list(range(first, min(first + self.params.batch, len(crops))))
            probs, seconds = self.model.run(np.stack([self._fit(crops[i]) for i in ids]))  # (n, 2): 0, 180
            p180[ids] = probs[:, 1]
            onnx += seconds
        return LineAngles(p180, time.perf_counter() - start, onnx)
