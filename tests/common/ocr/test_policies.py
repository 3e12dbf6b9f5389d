"""The enhancement policies with stand-in stages: each rule of ``auto`` fires where it should and only
there, ``seed`` reads its lines from the filtered page, and every policy reports its own time."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocrq.ocr.auto import AutoParams, line_sharpness
from ocrq.ocr.ctc import Reading
from ocrq.ocr.detect import Detection, DetParams, detection_size
from ocrq.ocr.enhance import SeedSteps
from ocrq.ocr.geometry import crop_with_margin
from ocrq.ocr.policies import AutoPolicy, OffPolicy, PageLines, SeedPolicy, Timings
from ocrq.ocr.recognize import Recognition
from tests.support.render import render_lines

SIZE = 28
MARGIN = 40


def page(dark: bool = False, blur: float = 0.0) -> np.ndarray:
    """A (H, W, 3) BGR page of two text lines; light on dark when ``dark``; blurred by ``blur`` sigma."""
    image = np.asarray(render_lines(["第一行 First line", "第二行 Second"], size=SIZE, margin=MARGIN))
    image = np.ascontiguousarray(image[:, :, ::-1])
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    return 255 - image if dark else image


def line_boxes(n: int = 2) -> np.ndarray:
    """(n, 4, 2) boxes around the lines ``page`` draws, bottom line first (reading order sorts them)."""
    boxes = []
    for k in reversed(range(n)):
        top, bottom = MARGIN + k * 2 * SIZE - 4, MARGIN + k * 2 * SIZE + SIZE + 8
        boxes.append([[MARGIN - 4, top], [MARGIN + 200, top], [MARGIN + 200, bottom], [MARGIN - 4, bottom]])
    return np.asarray(boxes, np.float32)


class StandInDetector:
    """Finds both lines on a light page; on a dark one only ``dark_lines`` of them, with low scores."""

    def __init__(self, dark_lines: int = 0) -> None:
        self.params = DetParams()
        self.dark_lines = dark_lines
        self.calls: list[tuple[float, float | None]] = []  # (mean grey of the input, scale)
        self.images: list[np.ndarray] = []  # the inputs

    def __call__(self, image, params=None, scale=None) -> Detection:
        self.calls.append((float(image.mean()), scale))
        self.images.append(image)
        light = image.mean() > 127
        n = 2 if light else self.dark_lines
        size = detection_size(*image.shape[:2], self.params, scale)
        scores = np.full((n,), 0.9 if light else 0.6, np.float32)
        return Detection(line_boxes(n) if n else np.zeros((0, 4, 2), np.float32), scores, size, 0.05, 0.04)


class StandInRecognizer:
    """Reads each crop as the next scripted reading."""

    def __init__(self, scripted: list[Reading]) -> None:
        self.scripted, self.seen = list(scripted), []

    def __call__(self, crops, seed_resize=False) -> Recognition:
        self.seen.append(list(crops))
        out, self.scripted = self.scripted[: len(crops)], self.scripted[len(crops) :]
        return Recognition(out, 0.02, 0.01)


def test_off_detects_once_and_reads_the_page_as_it_is():
    image, detector, times = page(), StandInDetector(), Timings()
    lines = OffPolicy(0.5).page_lines(image, detector, times)
    assert len(detector.calls) == 1 and lines.blurred == [False, False]
    assert lines.boxes[0, 0, 1] < lines.boxes[1, 0, 1]  # reading order: top line first
    assert np.array_equal(lines.crops[0], image[int(lines.boxes[0, 0, 1]):int(lines.boxes[0, 2, 1]),
                                                 int(lines.boxes[0, 0, 0]):int(lines.boxes[0, 1, 0])])
    assert times.seconds["det"] == 0.05 and times.onnx == 0.04
    off = OffPolicy(0.5)
    assert off.keeps(Reading("a", 0.6), False) and not off.keeps(Reading("a", 0.4), True)
    assert not off.keeps(Reading(" ", 0.9), False)


def test_seed_finds_lines_on_the_page_and_reads_them_from_the_filtered_page():
    image, detector = page(), StandInDetector()
    policy = SeedPolicy(0.5, SeedSteps())
    lines = policy.page_lines(image, detector, Timings())
    assert detector.calls[0][0] == float(image.mean())  # detection saw the page as it is
    assert set(np.unique(lines.crops[0])) <= {0, 255}  # the crops are binarised
    assert policy.seed_resize and policy.name == "seed"


def test_auto_reads_a_dark_page_in_the_polarity_with_more_text():
    detector, times = StandInDetector(dark_lines=1), Timings()
    lines = AutoPolicy(0.5, AutoParams()).page_lines(page(dark=True), detector, times)
    assert len(detector.calls) == 2 and detector.calls[1][0] > 127  # the second look was inverted
    assert len(lines.boxes) == 2 and lines.crops[0].mean() > 127  # read light: inverted it had more text
    assert times.seconds["det"] == 0.1 and times.onnx == 0.08


def test_auto_keeps_a_dark_page_when_inverting_finds_no_more_text():
    detector = StandInDetector(dark_lines=2)
    detector_scores = AutoPolicy(0.5, AutoParams(invert_below=64))
    lines = detector_scores.page_lines(page(dark=True), detector, Timings())
    # dark: 2 lines at 0.6 = 1.2 of evidence against 2 at 0.9 = 1.8 inverted: the light one still wins
    assert lines.crops[0].mean() > 127
    sharp_light = AutoPolicy(0.5, AutoParams()).page_lines(page(), StandInDetector(), Timings())
    assert sharp_light.crops[0].mean() > 127


def test_auto_detects_a_blurred_page_again_sharpened_nearer_its_own_scale_and_only_then():
    blurred = AutoPolicy(0.5, AutoParams())
    detector, soft, times = StandInDetector(), page(blur=2.5), Timings()
    lines = blurred.page_lines(soft, detector, times)
    first = detection_size(*soft.shape[:2], DetParams())[0] / soft.shape[0]  # the min_side enlargement
    assert first > AutoParams().native_scale
    assert [scale for _, scale in detector.calls] == [None, AutoParams().native_scale]
    assert detector.images[0] is soft and line_sharpness(detector.images[1]) > line_sharpness(soft)
    assert lines.blurred == [True, True]
    assert np.array_equal(lines.crops[0], crop_with_margin(soft, lines.boxes[0]))  # cut from the page as is
    assert times.seconds["det"] == pytest.approx(0.1)  # both passes counted
    detector = StandInDetector()
    lines = blurred.page_lines(page(), detector, Timings())
    assert [scale for _, scale in detector.calls] == [None] and lines.blurred == [False, False]
    detector = StandInDetector()
    AutoPolicy(0.5, AutoParams(native_below=0)).page_lines(soft, detector, Timings())
    assert [scale for _, scale in detector.calls] == [None, None]  # sharpened, at the first pass's scale
    detector = StandInDetector()
    AutoPolicy(0.5, AutoParams(native_below=0, detect_sharpen_amount=0)).page_lines(soft, detector, Timings())
    assert len(detector.calls) == 1  # both rules off
    detector = StandInDetector()
    AutoPolicy(0.5, AutoParams(detect_sharpen_amount=0)).page_lines(soft, detector, Timings())
    assert detector.images[1] is soft  # the native-scale rule alone: the page as it is


def test_auto_detects_a_sharp_page_of_small_text_again_enlarged_and_only_then():
    # the stand-in's lines are 40 px high: "small" below 48, and wanted 240 px high in the detector's input
    params = AutoParams(small_text_below=48, small_text_target=240)
    detector = StandInDetector()
    sharp = page()
    AutoPolicy(0.5, params).page_lines(sharp, detector, Timings())
    height, width = sharp.shape[:2]
    expected = min(6.0, params.small_text_max_side / max(height, width),
                   np.sqrt(params.small_text_max_pixels / (height * width)))
    assert expected > detection_size(height, width, DetParams())[0] / height  # larger than the first pass
    assert [scale for _, scale in detector.calls] == [None, pytest.approx(expected)]
    detector = StandInDetector()
    AutoPolicy(0.5, AutoParams(small_text_below=24)).page_lines(sharp, detector, Timings())
    assert len(detector.calls) == 1  # 40 px lines are not small for the default threshold
    detector = StandInDetector()
    AutoPolicy(0.5, params).page_lines(page(blur=2.5), detector, Timings())
    # blurred: the sharpened detection instead
    assert [scale for _, scale in detector.calls] == [None, AutoParams().native_scale]


def test_auto_sharpens_blurred_lines_reads_unsure_ones_again_and_keeps_blurred_ones_lower():
    policy = AutoPolicy(0.5, AutoParams(retry_below=0.9))  # the second look is off by default: on here
    sharp, soft = page()[40:76, 36:300].copy(), page(blur=2.0)[40:76, 36:300].copy()
    lines = PageLines(line_boxes(2), [sharp, soft], [False, True])
    times = Timings()
    first = policy.first_versions(lines, times)
    assert first[0] is sharp and not np.array_equal(first[1], soft)  # only the blurred one is sharpened
    assert times.seconds["enhance"] > 0
    # line 0 is unsure: its other version (sharpened) reads more likely; line 1 is sure: not read again
    recognizer = StandInRecognizer([Reading("First line", 0.95, -0.1)])
    readings = policy.second_look(lines, [Reading("Flrst lne", 0.6, -0.8), Reading("Second", 0.97, -0.05)],
                                  recognizer, times)
    assert [r.text for r in readings] == ["First line", "Second"]
    assert len(recognizer.seen) == 1 and len(recognizer.seen[0]) == 1
    assert not np.array_equal(recognizer.seen[0][0], sharp)  # the sharp line's other version: sharpened
    assert "retry" in times.seconds and times.onnx == 0.01
    assert policy.keeps(Reading("x", 0.35), blurred=True) and not policy.keeps(Reading("x", 0.35), False)


def test_auto_without_second_looks_reads_once():
    policy = AutoPolicy(0.5, AutoParams(retry_below=0))
    lines = PageLines(line_boxes(1), [page()[40:76, 36:300].copy()], [False])
    recognizer = StandInRecognizer([])
    readings = [Reading("x", 0.1, -3.0)]
    assert policy.second_look(lines, readings, recognizer, Timings()) == readings and recognizer.seen == []


class WeakLineDetector(StandInDetector):
    """Finds the top line surely and the bottom one only as a candidate (a region scored under the box
    threshold, as blur leaves a whole line)."""

    def __call__(self, image, params=None, scale=None) -> Detection:
        found = super().__call__(image, params, scale)
        top, bottom = line_boxes(2)[1:], line_boxes(2)[:1]
        return Detection(top, np.asarray([0.8], np.float32), found.input_size, 0.05, 0.04,
                         bottom, np.asarray([0.45], np.float32))


def test_auto_reads_the_weaker_regions_of_a_blurred_page_and_only_there():
    blurred = AutoPolicy(0.5, AutoParams(native_below=0)).page_lines(page(blur=2.5), WeakLineDetector(),
                                                                     Timings())
    assert len(blurred.boxes) == 2 and blurred.blurred == [True, True]
    sharp = AutoPolicy(0.5, AutoParams()).page_lines(page(), WeakLineDetector(), Timings())
    assert len(sharp.boxes) == 1  # a sharp page: the candidate stays out
    assert len(OffPolicy(0.5).page_lines(page(blur=2.5), WeakLineDetector(), Timings()).boxes) == 1
    rule_off = AutoParams(native_below=0, candidates_below=0)
    assert len(AutoPolicy(0.5, rule_off).page_lines(page(blur=2.5), WeakLineDetector(), Timings()).boxes) == 1


def test_the_detector_keeps_weaker_regions_apart_from_its_boxes():
    sure = Detection(line_boxes(1), np.asarray([0.7], np.float32), (64, 64), 0.0)
    assert sure.with_candidates() is sure  # none to add
    both = Detection(line_boxes(1), np.asarray([0.7], np.float32), (64, 64), 0.0, 0.0, line_boxes(2)[:1],
                     np.asarray([0.42], np.float32))
    widened = both.with_candidates()
    assert widened.boxes.shape == (2, 4, 2) and widened.scores.tolist() == pytest.approx([0.7, 0.42])
