"""CTC line recognition (the CRNN stage): resize each line crop to the model's height, run the model on
each line alone, decode.

Each line is its own run, so no line pays for another's padding, and the runs are spread over ``workers``
threads calling one single-threaded session at once (onnxruntime's ``run`` is thread-safe and releases the
GIL). Measured on 549 lines of 12 pages (bench/README.md, "Speed"): 21 % less time than padded batches of
similar width on one two-thread session, and 14 % less with one thread.

Works with any ONNX recogniser taking (N, C, H, W) float32 in [-1, 1] and returning (N, T, classes)
probabilities or logits; the charset convention is in ``ocrq.ocr.ctc``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ocrq.ocr.ctc import Reading, class_table, greedy_decode, softmax
from ocrq.ocr.session import TimedModel


@dataclass(frozen=True)
class RecParams:
    """Input geometry of a line recogniser."""

    height: int = 48
    min_width: int = 32  # narrower crops are padded (white in the seed mode, their own edge otherwise)
    max_width: int = 3200  # longer lines are squeezed to this
    width_step: int = 8  # input widths are rounded up to a multiple of this (the model's column stride)
    min_input_width: int = 96  # a short line's input is padded (with 0, grey) to at least this width


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


def to_batch(lines: Sequence[np.ndarray], height: int, step: int, min_width: int = 0) -> np.ndarray:
    """Stack (height, w_i, 3) uint8 lines into (N, 3, height, W) float32 in [-1, 1], right-padded with 0
    to a multiple of ``step``, at least ``min_width`` wide."""
    width = max(-(-max(line.shape[1] for line in lines) // step) * step, min_width)
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


def busy_time(spans: Sequence[tuple[float, float]]) -> float:
    """Seconds covered by at least one of (start, end) spans: wall time in the model, however parallel."""
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


class TextRecognizer:
    """``__call__(crops: list of (h, w, 3) BGR uint8) -> Recognition``, one reading per crop, in order.

    Holds nothing between calls: one recogniser serves concurrent calls. ``workers`` threads run lines at
    once (build the model with one intra-op thread then: the parallelism is here)."""

    def __init__(self, model: TimedModel, charset: Sequence[str], params: RecParams,
                 workers: int = 1) -> None:
        self.model = model
        self.workers = max(1, workers)
        self._pool = None
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ocrq-rec")
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
        """Readings of lines already at the model's height ((height, w_i, 3) uint8), in input order; the
        longest lines are started first, so the workers finish together."""
        order = sorted(range(len(lines)), key=lambda i: -lines[i].shape[1])
        if self._pool is not None and len(lines) > 1:
            done = list(self._pool.map(lambda i: self._read_one(lines[i]), order))
        else:
            done = [self._read_one(lines[i]) for i in order]
        readings: list[Reading] = [Reading("", 0.0)] * len(lines)
        for i, (reading, _) in zip(order, done, strict=True):
            readings[i] = reading
        return Recognition(readings, onnx=busy_time([span for _, span in done]))

    def _read_one(self, line: np.ndarray) -> tuple[Reading, tuple[float, float]]:
        """One (height, w, 3) uint8 line: its reading and the (start, end) of its model run."""
        batch = to_batch([line], self.params.height, self.params.width_step, self.params.min_input_width)
        if self.channels == 1:
            batch = batch.mean(axis=1, keepdims=True)
        start = time.perf_counter()
        output, _ = self.model.run(batch)
        end = time.perf_counter()
        if not self.outputs_probabilities:
            output = softmax(output.astype(np.float32), axis=2)
        span = line.shape[1] * output.shape[1] / batch.shape[3]  # the line's width in output columns
        reading = greedy_decode(output, self.table, [int(np.ceil(span))])[0]
        return replace(reading, width_columns=span), (start, end)
