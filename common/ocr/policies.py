"""The enhancement modes as policies: what happens between the engine's stages for ``off``, ``seed`` and
``auto``. Each has the same four hooks, called in this order by ``OcrEngine.run_array``:

- ``page_lines(image, detector, times)``: detect, and cut the lines out (boxes in reading order, crops);
- ``first_versions(lines, times)``: the crops recognition reads first;
- ``second_look(lines, readings, recognizer, times)``: readings after any second reading;
- ``keeps(reading, line)``: whether a reading is a line of the result.

A policy holds only its parameters: the stages and this call's timings come in as arguments, so one
policy (and one engine) serves concurrent calls, and a policy is tested with stand-in stages.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np

from ocrq.ocr.auto import (
    AutoParams,
    is_blurred_line,
    is_dark_page,
    keep_candidates,
    line_sharpness,
    native_redetection_scale,
    sharpen_line,
    sharpen_page_for_detection,
    small_text_scale,
    text_evidence,
)
from ocrq.ocr.ctc import Reading
from ocrq.ocr.detect import Detection, DetParams, detection_size
from ocrq.ocr.enhance import SeedSteps, seed_enhance
from ocrq.ocr.geometry import crop_with_margin, reading_order
from ocrq.ocr.recognize import Recognition
from ocrq.ocr.retry import second_look, unsure_lines


class Detector(Protocol):
    params: DetParams

    def __call__(self, image: np.ndarray, params: DetParams | None = None,
                 scale: float | None = None) -> Detection: ...


class Recognizer(Protocol):
    def __call__(self, crops: Sequence[np.ndarray], seed_resize: bool = False) -> Recognition: ...


@dataclass
class Timings:
    """Seconds per stage of one call (``enhance`` is the policy's own work), and of all of them in
    onnxruntime."""

    seconds: dict[str, float] = field(default_factory=lambda: {"enhance": 0.0})
    onnx: float = 0.0

    def add(self, stage: str, seconds: float, onnx: float = 0.0) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.onnx += onnx

    def since(self, stage: str, start: float) -> None:
        self.add(stage, time.perf_counter() - start)


@dataclass
class PageLines:
    """What detection found, ready for recognition: boxes (N, 4, 2) in reading order in page coordinates,
    each line's (h, w, 3) crop of the image the models read, and whether each line is blurred."""

    boxes: np.ndarray
    crops: list[np.ndarray]
    blurred: list[bool]

    def reordered(self, order: list[int]) -> PageLines:
        return PageLines(self.boxes[order], [self.crops[i] for i in order], [self.blurred[i] for i in order])


def cut_lines(image: np.ndarray, detection: Detection) -> tuple[np.ndarray, list[np.ndarray]]:
    """A detection's boxes (N, 4, 2) in reading order and their crops of an (H, W, 3) ``image``."""
    boxes = detection.boxes[reading_order(detection.boxes)]
    return boxes, [crop_with_margin(image, box) for box in boxes]


class OffPolicy:
    """``off``: the image as it is, every line read once, one confidence floor."""

    name = "off"
    seed_resize = False

    def __init__(self, min_confidence: float) -> None:
        self.min_confidence = min_confidence

    def page_lines(self, image: np.ndarray, detector: Detector, times: Timings) -> PageLines:
        detection = detector(image)
        times.add("det", detection.elapsed, detection.onnx)
        boxes, crops = cut_lines(image, detection)
        return PageLines(boxes, crops, [False] * len(crops))

    def first_versions(self, lines: PageLines, times: Timings) -> list[np.ndarray]:
        return lines.crops

    def second_look(self, lines: PageLines, readings: list[Reading], recognizer: Recognizer,
                    times: Timings) -> list[Reading]:
        return readings

    def keeps(self, reading: Reading, blurred: bool) -> bool:
        return bool(reading.text.strip()) and reading.confidence >= self.min_confidence


class SeedPolicy(OffPolicy):
    """``seed``: the reference design. Lines are found on the page as it is, then read from the page after
    its filters (grayscale, CLAHE, Otsu binarisation), resized INTER_AREA/INTER_CUBIC, padded white."""

    name = "seed"

    def __init__(self, min_confidence: float, steps: SeedSteps) -> None:
        super().__init__(min_confidence)
        self.steps = steps
        self.seed_resize = steps.resize

    def page_lines(self, image: np.ndarray, detector: Detector, times: Timings) -> PageLines:
        start = time.perf_counter()
        page = seed_enhance(image, self.steps)
        times.since("enhance", start)
        detection = detector(image)
        times.add("det", detection.elapsed, detection.onnx)
        boxes, crops = cut_lines(page, detection)
        return PageLines(boxes, crops, [False] * len(crops))


class AutoPolicy(OffPolicy):
    """``auto``: the measured rules of ``ocrq.ocr.auto``. A dark page is detected in both polarities and
    read in the one with more text; a blurred page is detected again sharpened (nearer its own scale if the
    detector enlarged it), and its weaker regions are read too; blurred lines are sharpened first and kept
    down to a lower confidence; unsure lines are read a second time in their other version and the more
    likely reading kept."""

    name = "auto"

    def __init__(self, min_confidence: float, params: AutoParams) -> None:
        super().__init__(min_confidence)
        self.params = params

    def page_lines(self, image: np.ndarray, detector: Detector, times: Timings) -> PageLines:
        detection = detector(image)
        times.add("det", detection.elapsed, detection.onnx)
        if is_dark_page(image, self.params):
            inverted = cv2.bitwise_not(image)
            other = detector(inverted)
            times.add("det", other.elapsed, other.onnx)
            if text_evidence(other.scores) > text_evidence(detection.scores):
                image, detection = inverted, other
        lines, sharpness = self._measured(image, detection, times)
        widen = keep_candidates(sharpness, self.params)
        # Enlarged by the min_side rule, not merely rounded to a multiple of 32: at native scale the model
        # would see the very same input, and a second pass would find the same lines.
        height, width = image.shape[:2]
        native = detection_size(height, width, detector.params, scale=1.0)
        # blurred pages are detected again sharpened (and nearer their own scale when enlarged), sharp
        # pages of small text enlarged
        params = detector.params
        scale = native_redetection_scale(sharpness, detection.input_size[0] / native[0], self.params)
        if scale is None and not widen:
            scale = small_text_scale(detection.boxes, (height, width), detection.input_size[0] / height,
                                     self.params)
            params = replace(params, max_side=self.params.small_text_max_side)
        seen = image
        if widen and self.params.detect_sharpen_amount > 0:
            start = time.perf_counter()
            seen = sharpen_page_for_detection(image, self.params)
            times.since("enhance", start)
        if scale is not None or seen is not image:
            detection = detector(seen, params, scale=scale)
            times.add("det", detection.elapsed, detection.onnx)
        if widen:
            detection = detection.with_candidates()
        if scale is not None or widen:
            lines, _ = self._measured(image, detection, times)
        return lines

    def _measured(self, image: np.ndarray, detection: Detection,
                  times: Timings) -> tuple[PageLines, list[float]]:
        """The lines of a detection with each crop's edge sharpness (measuring is this policy's cost)."""
        start = time.perf_counter()
        boxes, crops = cut_lines(image, detection)
        sharpness = [line_sharpness(c) for c in crops]
        times.since("enhance", start)
        return PageLines(boxes, crops, [is_blurred_line(s, self.params) for s in sharpness]), sharpness

    def first_versions(self, lines: PageLines, times: Timings) -> list[np.ndarray]:
        start = time.perf_counter()
        first = [sharpen_line(c, self.params) if b else c for c, b in zip(lines.crops, lines.blurred,
                                                                          strict=True)]
        times.since("enhance", start)
        return first

    def second_look(self, lines: PageLines, readings: list[Reading], recognizer: Recognizer,
                    times: Timings) -> list[Reading]:
        if self.params.retry_below <= 0 or not lines.crops:
            return readings
        start = time.perf_counter()

        def other_version(i: int) -> np.ndarray:
            crop = lines.crops[i]
            return crop if lines.blurred[i] else sharpen_line(crop, self.params)

        unsure = unsure_lines(readings, self.params.retry_below, self.params.retry_limit)
        out, _, second = second_look(recognizer, readings, unsure, other_version)
        times.add("retry", time.perf_counter() - start, second.onnx)
        return out

    def keeps(self, reading: Reading, blurred: bool) -> bool:
        floor = self.min_confidence
        if blurred and self.params.blurred_min_confidence is not None:
            floor = self.params.blurred_min_confidence
        return bool(reading.text.strip()) and reading.confidence >= floor


def make_policy(mode: str, min_confidence: float, seed_steps: SeedSteps, auto: AutoParams) -> OffPolicy:
    """The policy of enhancement mode ``mode`` (``off``, ``seed`` or ``auto``)."""
    if mode == "seed":
        return SeedPolicy(min_confidence, seed_steps)
    if mode == "auto":
        return AutoPolicy(min_confidence, auto)
    return OffPolicy(min_confidence)
