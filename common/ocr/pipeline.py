"""The OCR engine: decode -> enhancement -> detection -> line crops -> orientation -> recognition.

One ``OcrEngine`` holds the loaded models; a worker process builds it once and calls ``run`` per job.
``enhance`` picks what happens between the stages: ``off`` nothing, ``seed`` the reference design's page
filters and resize, ``auto`` the measured rules of ``ocrq.ocr.auto`` (dark pages read in the better
polarity, blurred pages detected at their own scale, blurred lines sharpened, unsure lines read twice).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.config import ENHANCE_MODES, Settings, get_settings
from ocrq.errors import InvalidOption
from ocrq.images import decode
from ocrq.ocr.auto import (
    AutoParams,
    is_blurred_line,
    is_dark_page,
    line_sharpness,
    redetect_at_native_scale,
    sharpen_line,
    text_evidence,
)
from ocrq.ocr.detect import Detection, TextDetector, detection_size
from ocrq.ocr.enhance import SeedSteps, seed_enhance
from ocrq.ocr.geometry import crop_line, reading_order
from ocrq.ocr.models import ModelPack, load_pack, read_charset
from ocrq.ocr.orient import LineOrienter
from ocrq.ocr.recognize import TextRecognizer
from ocrq.ocr.result import OcrLine, OcrResult
from ocrq.ocr.retry import timed_second_look
from ocrq.ocr.session import TimedModel


@dataclass(frozen=True)
class EngineOptions:
    """Engine-wide choices that are not model hyper-parameters."""

    enhance_default: str = "auto"
    use_orientation: bool = False
    max_image_pixels: int = 40_000_000
    min_confidence: float = 0.5  # lines read with less confidence are dropped (mostly graphics, not text)
    seed_steps: SeedSteps = SeedSteps()
    auto: AutoParams = AutoParams()
    memory_arena: bool = True  # onnxruntime's CPU arena: faster, but holds each model's peak memory


class OcrEngine:
    """Loaded det/rec(/cls) models and the pipeline that chains them."""

    def __init__(self, pack: ModelPack, threads: int, options: EngineOptions | None = None) -> None:
        start = time.perf_counter()
        self.pack = pack
        self.options = options or EngineOptions()
        self.threads = threads
        arena = self.options.memory_arena
        self._det_model = TimedModel(pack.det, threads, arena)
        self._rec_model = TimedModel(pack.rec, threads, arena)
        self.detector = TextDetector(self._det_model, pack.det_params)
        self.recognizer = TextRecognizer(
            self._rec_model, read_charset(pack.keys, self._rec_model.metadata()), pack.rec_params
        )
        self._cls_model = None
        self.orienter = None
        if self.options.use_orientation and pack.cls is not None:
            self._cls_model = TimedModel(pack.cls, threads, arena)
            self.orienter = LineOrienter(self._cls_model, pack.orient_params)
        self.load_seconds = time.perf_counter() - start

    @classmethod
    def from_settings(cls, settings: Settings | None = None, processes: int = 1) -> OcrEngine:
        """Build the engine the settings describe; ``processes`` is how many engines share this machine."""
        settings = settings or get_settings()
        pack = load_pack(settings.model_pack, settings.model_dir)
        options = EngineOptions(
            enhance_default=settings.enhance_default,
            use_orientation=settings.use_orientation,
            max_image_pixels=settings.max_image_pixels,
            memory_arena=settings.ort_memory_arena,
        )
        return cls(pack, settings.threads_per_process(processes), options)

    def describe(self) -> dict[str, str]:
        return {**self.pack.describe(), "threads": str(self.threads)}

    def _models(self) -> list[TimedModel]:
        return [m for m in (self._det_model, self._rec_model, self._cls_model) if m is not None]

    def run(self, data: bytes, enhance: str | None = None) -> OcrResult:
        """OCR encoded image bytes (JPEG, PNG, BMP, TIFF, WebP, GIF)."""
        start = time.perf_counter()
        image = decode(data, self.options.max_image_pixels)
        decode_ms = (time.perf_counter() - start) * 1000
        result = self.run_array(image, enhance)
        result.timings_ms["decode"] = round(decode_ms, 2)
        result.timings_ms["total"] = round((time.perf_counter() - start) * 1000, 2)
        return result

    def run_array(self, image: np.ndarray, enhance: str | None = None) -> OcrResult:
        """OCR an (H, W, 3) BGR uint8 image."""
        mode = enhance or self.options.enhance_default
        if mode not in ENHANCE_MODES:
            raise InvalidOption(f"enhance must be one of {', '.join(ENHANCE_MODES)}, not {mode!r}")
        start = time.perf_counter()
        onnx_before = sum(m.elapsed for m in self._models())
        timings: dict[str, float] = {"enhance": 0.0}
        height, width = image.shape[:2]
        auto = self.options.auto if mode == "auto" else None

        if auto is not None:
            image, boxes, crops, sharpness = self._detect_auto(image, auto, timings)
        else:
            tick = time.perf_counter()
            page = seed_enhance(image, self.options.seed_steps) if mode == "seed" else image
            timings["enhance"] = time.perf_counter() - tick
            detection = self.detector(image)
            timings["det"] = detection.elapsed
            boxes = detection.boxes[reading_order(detection.boxes)]
            crops = [crop_line(page, box) for box in boxes]

        if self.orienter is not None and crops:
            crops, _ = self.orienter(crops)
            timings["cls"] = self.orienter.last_elapsed
        if auto is not None:
            blurred = [is_blurred_line(s, auto) for s in sharpness]
        else:
            blurred = [False] * len(crops)
        tick = time.perf_counter()
        first = [sharpen_line(c, auto) if b else c for c, b in zip(crops, blurred, strict=True)]
        timings["enhance"] += time.perf_counter() - tick
        seed_resize = mode == "seed" and self.options.seed_steps.resize
        readings = self.recognizer(first, seed_resize=seed_resize) if crops else []
        timings["rec"] = self.recognizer.last_elapsed if crops else 0.0
        if auto is not None and auto.retry_below > 0 and crops:

            def other_version(i: int) -> np.ndarray:
                return crops[i] if blurred[i] else sharpen_line(crops[i], auto)

            readings, timings["retry"] = timed_second_look(
                self.recognizer, readings, auto.retry_below, auto.retry_limit, other_version
            )

        floor = blurred_floor = self.options.min_confidence
        if auto is not None and auto.blurred_min_confidence is not None:
            blurred_floor = auto.blurred_min_confidence
        lines = [
            OcrLine(r.text, round(r.confidence, 4), np.round(box.astype(np.float64), 1).tolist())
            for r, box, b in zip(readings, boxes, blurred, strict=True)
            if r.text.strip() and r.confidence >= (blurred_floor if b else floor)
        ]
        timings["onnx"] = sum(m.elapsed for m in self._models()) - onnx_before
        timings["total"] = time.perf_counter() - start
        return OcrResult(
            width=width, height=height, lines=lines, enhance=mode,
            timings_ms={k: round(v * 1000, 2) for k, v in timings.items()},
            model=self.describe(),
        )

    def _detect_auto(
        self, image: np.ndarray, auto: AutoParams, timings: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[float]]:
        """Detection under the auto rules: (the image the models read, boxes (N, 4, 2) in reading order,
        their crops, each crop's edge sharpness). Adds to ``timings`` "det" and "enhance" (measuring)."""
        detection = self.detector(image)
        timings["det"] = detection.elapsed
        if is_dark_page(image, auto):
            inverted = cv2.bitwise_not(image)
            other = self.detector(inverted)
            timings["det"] += other.elapsed
            if text_evidence(other.scores) > text_evidence(detection.scores):
                image, detection = inverted, other
        boxes, crops, sharpness = self._measured_lines(image, detection, timings)
        # Enlarged by the min_side rule, not merely rounded to a multiple of 32: at native scale the model
        # would see the very same input, and a second pass would find the same lines.
        native = detection_size(*image.shape[:2], self.detector.params, scale=1.0)
        if redetect_at_native_scale(sharpness, detection.input_size[0] / native[0], auto):
            detection = self.detector(image, scale=1.0)
            timings["det"] += detection.elapsed
            boxes, crops, sharpness = self._measured_lines(image, detection, timings)
        return image, boxes, crops, sharpness

    @staticmethod
    def _measured_lines(
        image: np.ndarray, detection: Detection, timings: dict[str, float]
    ) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
        """A detection's boxes (N, 4, 2) in reading order, their crops of ``image`` and each crop's edge
        sharpness; the time goes to ``timings["enhance"]`` (measuring is the auto mode's own cost)."""
        tick = time.perf_counter()
        boxes = detection.boxes[reading_order(detection.boxes)]
        crops = [crop_line(image, box) for box in boxes]
        sharpness = [line_sharpness(c) for c in crops]
        timings["enhance"] += time.perf_counter() - tick
        return boxes, crops, sharpness
