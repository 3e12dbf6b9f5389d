"""CTC line recognition (the CRNN stage): resize each line crop to the model's height, batch lines of
similar width, run the model, decode.

Works with any ONNX recogniser taking (N, C, H, W) float32 in [-1, 1] and returning (N, T, classes)
probabilities or logits; the charset convention is in ``ocrq.ocr.ctc``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.ocr.ctc import Reading, class_table, greedy_decode, softmax
from ocrq.ocr.session import TimedModel


@dataclass(frozen=True)
class RecParams:
    """Input geometry and batching of a line recogniser."""

    height: int = 48
    min_width: int = 32  # narrower crops are padded (white in the seed mode, their own edge otherwise)
    max_width: int = 3200  # longer lines are squeezed to this
    width_step: int = 8  # batch widths are rounded up to a multiple of this (the model's column stride)
    batch_columns: int = 12800  # a batch holds at most this many pixel columns in total
    max_batch: int = 32
    width_spread: float = 1.3  # a batch's widest line is at most this times its narrowest


def resize_to_height(line: np.ndarray, height: int, min_width: int, max_width: int,
                     pad_value: int | None = None, seed: bool = False) -> np.ndarray:
    """Aspect-preserving resize of an (h, w[, c]) crop to ``height`` rows.

    ``seed=True`` is the reference design's adaptive resize: INTER_AREA when shrinking, INTER_CUBIC when
    enlarging; otherwise bilinear, as PaddleOCR trains. A result narrower than ``min_width`` is padded on
    the right with ``pad_value`` (or by repeating its last column when None).
    """
    h, w = line.shape[:2]
    width = int(round(w * height / max(h, 1)))
    width = min(max(width, 1), max_width)
    if seed:
        interpolation = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    else:
        interpolation = cv2.INTER_LINEAR
    resized = cv2.resize(line, (width, height), interpolation=interpolation)
    if width < min_width:
        pad = min_width - width
        if pad_value is None:
            resized = cv2.copyMakeBorder(resized, 0, 0, 0, pad, cv2.BORDER_REPLICATE)
        else:
            resized = cv2.copyMakeBorder(resized, 0, 0, 0, pad, cv2.BORDER_CONSTANT,
                                         value=(pad_value,) * 3)
    return resized


def plan_batches(widths: Sequence[int], params: RecParams) -> list[list[int]]:
    """Group line indices into batches of similar width (sorted by width) under the column budget."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current:
            narrowest = widths[current[0]]
            too_wide = widths[i] > narrowest * params.width_spread + params.width_step
            too_many = (
                len(current) >= params.max_batch or widths[i] * (len(current) + 1) > params.batch_columns
            )
            if too_wide or too_many:
                batches.append(current)
                current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def to_batch(lines: Sequence[np.ndarray], height: int, step: int) -> np.ndarray:
    """Stack (height, w_i, 3) uint8 lines into (N, 3, height, W) float32 in [-1, 1], right-padded with 0."""
    width = -(-max(line.shape[1] for line in lines) // step) * step
    batch = np.zeros((len(lines), 3, height, width), dtype=np.float32)
    for k, line in enumerate(lines):
        batch[k, :, :, : line.shape[1]] = line.transpose(2, 0, 1) * (1.0 / 127.5) - 1.0
    return batch


@dataclass
class Recognition:
    """One reading per line, in input order; seconds for the stage, and of which in onnxruntime."""

    readings: list[Reading]
    elapsed: float = 0.0
    onnx: float = 0.0


class TextRecognizer:
    """``__call__(crops: list of (h, w, 3) BGR uint8) -> Recognition``, one reading per crop, in order.

    Holds nothing between calls: one recogniser serves concurrent calls."""

    def __init__(self, model: TimedModel, charset: Sequence[str], params: RecParams) -> None:
        self.model = model
        shape = model.input_shape
        channels = shape[1] if isinstance(shape[1], int) else 3
        height = shape[2] if isinstance(shape[2], int) else params.height
        self.channels = channels
        self.params = RecParams(**{**params.__dict__, "height": height})
        probe = self.model(np.zeros((1, channels, height, 64), dtype=np.float32))
        if probe.ndim != 3:
            raise ValueError(f"a CTC recogniser must output (N, T, classes); this one outputs {probe.shape}")
        self.table = class_table(charset, probe.shape[2])
        sums = probe.sum(axis=2)
        self.outputs_probabilities = bool(probe.min() >= 0 and np.allclose(sums, 1.0, atol=1e-3))

    def prepare(self, crop: np.ndarray, seed_resize: bool = False) -> np.ndarray:
        """One crop -> (height, w, 3) uint8 at the model's height (seed resize pads with white)."""
        p = self.params
        if crop.ndim == 2:
            crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
        return resize_to_height(crop, p.height, p.min_width, p.max_width,
                                pad_value=255 if seed_resize else None, seed=seed_resize)

    def __call__(self, crops: Sequence[np.ndarray], seed_resize: bool = False) -> Recognition:
        start = time.perf_counter()
        recognition = self.read_prepared([self.prepare(c, seed_resize) for c in crops])
        recognition.elapsed = time.perf_counter() - start
        return recognition

    def read_prepared(self, lines: Sequence[np.ndarray]) -> Recognition:
        """Readings of lines already at the model's height ((height, w_i, 3) uint8), in input order."""
        readings: list[Reading | None] = [None] * len(lines)
        onnx = 0.0
        for batch_ids in plan_batches([line.shape[1] for line in lines], self.params):
            batch = to_batch([lines[i] for i in batch_ids], self.params.height, self.params.width_step)
            if self.channels == 1:
                batch = batch.mean(axis=1, keepdims=True)
            output, seconds = self.model.run(batch)
            onnx += seconds
            if not self.outputs_probabilities:
                output = softmax(output.astype(np.float32), axis=2)
            columns = output.shape[1] / batch.shape[3]  # output columns per input pixel column
            lengths = [int(np.ceil(lines[i].shape[1] * columns)) for i in batch_ids]
            for i, reading in zip(batch_ids, greedy_decode(output, self.table, lengths), strict=True):
                readings[i] = reading
        return Recognition([r if r is not None else Reading("", 0.0) for r in readings], onnx=onnx)
