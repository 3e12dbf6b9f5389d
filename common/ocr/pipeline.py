"""The OCR engine: decode -> enhancement policy -> detection -> line crops -> page orientation (the page
turned upright and detected again if it was not) -> optional line orientation -> recognition -> slivers of
cut-off lines at the border dropped -> segments, words and characters (``ocrq.ocr.words``) -> reading
order and blocks on the upright page (``ocrq.ocr.layout``) -> boxes back in the upload's coordinates.

One ``OcrEngine`` holds the loaded models; a worker process builds it once and calls ``run`` per job.
``enhance`` picks the policy between the stages (``ocrq.ocr.policies``): ``off`` nothing, ``seed`` the
reference design's page filters and resize, ``auto`` the measured rules of ``ocrq.ocr.auto``. Nothing of a
call is kept on the engine or its stages, so one engine serves concurrent calls (threads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ocrq.config import ENHANCE_MODES, Settings, get_settings
from ocrq.errors import InvalidOption
from ocrq.images import decode_working
from ocrq.ocr.auto import AutoParams
from ocrq.ocr.ctc import Reading
from ocrq.ocr.detect import TextDetector
from ocrq.ocr.enhance import SeedSteps
from ocrq.ocr.geometry import column_order, edge_fragments, is_vertical, margin_frame
from ocrq.ocr.layout import Layout, LayoutParams, layout
from ocrq.ocr.models import ModelPack, load_pack, read_charset
from ocrq.ocr.orient import LineOrienter
from ocrq.ocr.policies import OffPolicy, PageLines, Timings, make_policy
from ocrq.ocr.recognize import Recognition, TextRecognizer
from ocrq.ocr.result import OcrBlock, OcrLine, OcrResult, OcrWord
from ocrq.ocr.segments import Segment, SegmentParams, segments
from ocrq.ocr.session import TimedModel
from ocrq.ocr.upright import PageOrienter, PageTurn, UprightParams, turn, unturn
from ocrq.ocr.words import Glyphs, glyphs


@dataclass(frozen=True)
class EngineOptions:
    """Engine-wide choices that are not model hyper-parameters."""

    enhance_default: str = "auto"
    page_orientation: bool = True  # pages turned 90, 180 or 270 degrees are read upright (ocrq.ocr.upright)
    upright: UprightParams = UprightParams()
    use_orientation: bool = False  # each line classified upright or upside down, and turned
    max_image_pixels: int = 40_000_000
    # Pixels an image is read at, at most: a larger one (up to max_image_pixels) is decoded and read at
    # the scale that fits, its boxes given back in the upload's pixels. So a worker's memory is bounded
    # by design (SECURITY.md: measured peak at the 40 MP limit); text on such pages is large anyway.
    working_pixels: int | None = 16_000_000
    min_confidence: float = 0.5  # lines read with less confidence are dropped (mostly graphics, not text)
    seed_steps: SeedSteps = SeedSteps()
    auto: AutoParams = AutoParams()
    memory_arena: bool = True  # onnxruntime's CPU arena: faster, but holds each model's peak memory
    # A detection of more input pixels than this (more than DetParams.max_side squared: a small-text
    # re-detection or an unusually long page) gives the arena's memory back when it ends (None: never), so
    # its buffers are not held for the rest of the worker's life (bench/README.md, "Worker memory").
    det_release_pixels: int | None = 2_600_000
    split_segments: bool = True  # lines cut where their characters leave a wide gap (ocrq.ocr.segments)
    segment: SegmentParams = SegmentParams()
    layout: LayoutParams = LayoutParams()


class OcrEngine:
    """Loaded det/rec(/cls) models, the policies, and the pipeline that chains them."""

    def __init__(self, pack: ModelPack, threads: int, options: EngineOptions | None = None) -> None:
        start = time.perf_counter()
        self.pack = pack
        self.options = options or EngineOptions()
        self.threads = threads
        arena = self.options.memory_arena
        release = None if self.options.det_release_pixels is None else 3 * self.options.det_release_pixels
        # no memory pattern: the detector sees a new input size on almost every page
        self.detector = TextDetector(TimedModel(pack.det, threads, arena, memory_pattern=False,
                                                release_above=release), pack.det_params)
        # one intra-op thread: the engine's threads each run a line of their own (ocrq.ocr.recognize)
        rec_model = TimedModel(pack.rec, 1, arena)
        self.recognizer = TextRecognizer(rec_model, read_charset(pack.keys, rec_model.metadata()),
                                         pack.rec_params, workers=threads)
        # The line classifier (upright or upside down) serves the page's orientation and, when asked for,
        # each line's.
        self.classifier: LineOrienter | None = None
        if (self.options.use_orientation or self.options.page_orientation) and pack.cls is not None:
            self.classifier = LineOrienter(TimedModel(pack.cls, threads, arena), pack.orient_params)
        self.orienter = self.classifier if self.options.use_orientation else None
        self.page_orienter = None
        if self.options.page_orientation and self.classifier is not None:
            self.page_orienter = PageOrienter(self.classifier, self.recognizer, self.options.upright)
        o = self.options
        self.policies = {mode: make_policy(mode, o.min_confidence, o.seed_steps, o.auto)
                         for mode in ENHANCE_MODES}
        self.load_seconds = time.perf_counter() - start

    @classmethod
    def from_settings(cls, settings: Settings | None = None, processes: int = 1) -> OcrEngine:
        """Build the engine the settings describe; ``processes`` is how many engines share this machine."""
        settings = settings or get_settings()
        pack = load_pack(settings.model_pack, settings.model_dir)
        options = EngineOptions(
            enhance_default=settings.enhance_default,
            page_orientation=settings.page_orientation,
            use_orientation=settings.use_orientation,
            max_image_pixels=settings.max_image_pixels,
            memory_arena=settings.ort_memory_arena,
        )
        return cls(pack, settings.threads_per_process(processes), options)

    def models(self) -> list[TimedModel]:
        """The loaded models: detection, recognition, and the line classifier when it is used."""
        stages: list[TextDetector | TextRecognizer | LineOrienter | None] = [
            self.detector, self.recognizer, self.classifier]
        return [stage.model for stage in stages if stage is not None]

    def describe(self) -> dict[str, str]:
        return {**self.pack.describe(), "threads": str(self.threads)}

    def policy(self, enhance: str | None) -> OffPolicy:
        mode = enhance or self.options.enhance_default
        if mode not in self.policies:
            raise InvalidOption(f"enhance must be one of {', '.join(ENHANCE_MODES)}, not {mode!r}")
        return self.policies[mode]

    def _turn_lines(self, lines: PageLines, first: list[np.ndarray], readings: list[Reading],
                    seed_resize: bool, times: Timings, turned: set[int]) -> tuple[PageLines, list[Reading]]:
        """Lines the classifier calls upside down, read again turned over; the turn is kept only where that
        reading is the more likely (the classifier alone misfires on upright lines: bench/README.md)."""
        assert self.orienter is not None
        start = time.perf_counter()
        angles = self.orienter.angles(lines.crops)
        suspects = [i for i, p180 in enumerate(angles.p180) if p180 >= self.orienter.params.threshold]
        onnx = angles.onnx
        crops, readings = list(lines.crops), list(readings)
        if suspects:
            over = self.recognizer([cv2.rotate(first[i], cv2.ROTATE_180) for i in suspects],
                                   seed_resize=seed_resize)
            onnx += over.onnx
            for i, reading in zip(suspects, over.readings, strict=True):
                if reading.text.strip() and reading.path_score > readings[i].path_score:
                    readings[i] = reading
                    crops[i] = np.ascontiguousarray(cv2.rotate(crops[i], cv2.ROTATE_180))
                    turned.add(i)
        times.add("cls", time.perf_counter() - start, onnx)
        return PageLines(lines.boxes, crops, lines.blurred), readings

    def _segments(self, reading: Reading, box: np.ndarray, turned: bool) -> list[Segment]:
        """The line as one segment, or cut at its wide gaps: only a wide line read left to right along its
        box (a vertical or turned-over one is kept whole)."""
        width = float(np.linalg.norm(box[1] - box[0]))
        height = float(np.linalg.norm(box[3] - box[0]))
        if not self.options.split_segments or turned or width < 1.5 * height:
            return [Segment(reading.text, reading.confidence, box)]
        return segments(reading, box, self.options.segment)

    def run(self, data: bytes, enhance: str | None = None, chars: bool = False) -> OcrResult:
        """OCR encoded image bytes (JPEG, PNG, BMP, TIFF, WebP, GIF); ``chars``: each line's characters
        too, not only its words."""
        start = time.perf_counter()
        decoded = decode_working(data, self.options.max_image_pixels, self.options.working_pixels)
        decode_ms = (time.perf_counter() - start) * 1000
        result = self.run_array(decoded.pixels, enhance, chars)
        if decoded.scale != 1.0:  # read at a working resolution: boxes and size in the upload's pixels
            result = result.in_upload_pixels(decoded.scale, *decoded.size)
        result.timings_ms["decode"] = round(decode_ms, 2)
        result.timings_ms["total"] = round((time.perf_counter() - start) * 1000, 2)
        return result

    def run_array(self, image: np.ndarray, enhance: str | None = None, chars: bool = False) -> OcrResult:
        """OCR an (H, W, 3) BGR uint8 image."""
        policy = self.policy(enhance)
        start = time.perf_counter()
        times = Timings()
        height, width = image.shape[:2]
        lines = policy.page_lines(image, self.detector, times)
        page, upright = PageTurn(), image
        if self.page_orienter is not None and lines.crops:
            page = self.page_orienter(lines.boxes, lines.crops)
            times.add("orient", page.elapsed, page.onnx)
            if page.angle:  # read the page turned upright: detected again, in reading order
                upright = turn(image, page.angle)
                lines = policy.page_lines(upright, self.detector, times)
            elif page.vertical:
                lines = lines.reordered(column_order(lines.boxes))
        first = policy.first_versions(lines, times)
        recognition = self.recognizer(first, seed_resize=policy.seed_resize) if first else Recognition([])
        times.add("rec", recognition.elapsed, recognition.onnx)
        readings = recognition.readings
        turned: set[int] = set()  # lines read turned over: their text runs right to left in the box
        if self.orienter is not None and lines.crops:
            lines, readings = self._turn_lines(lines, first, readings, policy.seed_resize, times, turned)
        readings = policy.second_look(lines, readings, self.recognizer, times)
        fragments = edge_fragments(lines.boxes, upright)
        start_words = time.perf_counter()
        up_height, up_width = upright.shape[:2]
        found: list[tuple[Segment, Glyphs, Glyphs]] = []  # boxes in the upright page
        for i, (reading, box, blurred, fragment) in enumerate(
                zip(readings, lines.boxes, lines.blurred, fragments, strict=True)):
            if fragment or not policy.keeps(reading, blurred):
                continue
            frame, _ = margin_frame(box, up_width, up_height)
            for part in self._segments(reading, box, i in turned):
                if part.text:
                    words, characters = glyphs(reading, frame, box, is_vertical(box), i in turned,
                                               part.first, part.end)
                    found.append((part, words, characters))
        order = self._layout(np.asarray([part.box for part, _, _ in found]).reshape(-1, 4, 2), page)
        position = {line: k for k, line in enumerate(order.order)}
        kept = [self._line(*found[i], page.angle, width, height, chars) for i in order.order]
        blocks = [OcrBlock(self._block_box([kept[position[i]] for i in block]),
                           [position[i] for i in block]) for block in order.blocks]
        times.since("words", start_words)
        seconds = {**times.seconds, "onnx": times.onnx, "total": time.perf_counter() - start}
        return OcrResult(
            width=width, height=height, lines=kept, enhance=policy.name, angle=page.angle,
            timings_ms={k: round(v * 1000, 2) for k, v in seconds.items()},
            model=self.describe(), blocks=blocks,
        )

    def _layout(self, boxes: np.ndarray, page: PageTurn) -> Layout:
        """Reading order and blocks of the upright page's (N, 4, 2) line boxes; vertical text keeps its
        column order (right to left) as one block."""
        if page.vertical:
            return Layout(list(range(len(boxes))), [list(range(len(boxes)))] if len(boxes) else [])
        return layout(boxes, self.options.layout)

    @staticmethod
    def _line(part: Segment, words: Glyphs, characters: Glyphs, angle: int, width: int, height: int,
              chars: bool) -> OcrLine:
        """A line of the result, its boxes back in the page as uploaded."""
        def back(boxes: np.ndarray) -> list:
            return np.round(unturn(boxes, angle, width, height).astype(np.float64), 1).tolist()

        def listed(glyphs: Glyphs) -> list[OcrWord]:
            return [OcrWord(*g) for g in zip(glyphs.texts, glyphs.confidences, back(glyphs.boxes),
                                             strict=True)]

        return OcrLine(part.text, round(part.confidence, 4), back(part.box[None])[0], listed(words),
                       listed(characters) if chars else None)

    @staticmethod
    def _block_box(lines: list[OcrLine]) -> list[list[float]]:
        """The axis-aligned box of ``lines`` in the page as uploaded, clockwise from its top-left."""
        points = np.asarray([p for line in lines for p in line.box])
        (x0, y0), (x1, y1) = points.min(0), points.max(0)
        return [[float(x0), float(y0)], [float(x1), float(y0)], [float(x1), float(y1)],
                [float(x0), float(y1)]]
