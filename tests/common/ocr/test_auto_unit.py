"""The auto mode's rules and the second look, without a model: each rule fires where it should, only there."""

import cv2
import numpy as np

from ocrq.ocr.auto import (
    AutoParams,
    is_blurred_line,
    is_dark_page,
    line_height,
    line_sharpness,
    native_redetection_scale,
    sharpen_line,
    sharpen_page_for_detection,
    small_text_scale,
    text_evidence,
)
from ocrq.ocr.ctc import Reading
from ocrq.ocr.recognize import Recognition
from ocrq.ocr.retry import second_look, unsure_lines
from tests.support.render import render_lines


def line_crop(size: int = 20) -> np.ndarray:
    return np.asarray(render_lines(["模糊的一行 blur 42"], size=size, margin=4))[:, :, ::-1].copy()


def test_blurred_line_is_detected_and_sharpening_restores_edges():
    params = AutoParams(sharpen_below=0.8)
    crop = line_crop()
    blurred = cv2.GaussianBlur(crop, (0, 0), 1.5)
    assert not is_blurred_line(line_sharpness(crop), params)
    assert is_blurred_line(line_sharpness(blurred), params)
    sharpened = sharpen_line(blurred, params)
    assert sharpened.shape == blurred.shape and sharpened.dtype == np.uint8
    assert line_sharpness(sharpened) > line_sharpness(blurred)


def test_rules_at_zero_are_off():
    off = AutoParams(invert_below=0, native_below=0, sharpen_below=0, retry_below=0, small_text_below=0)
    blurred = cv2.GaussianBlur(line_crop(), (0, 0), 3.0)
    assert not is_blurred_line(line_sharpness(blurred), off)
    assert not is_dark_page(np.zeros((100, 100, 3), np.uint8), off)
    assert native_redetection_scale([0.1, 0.1], 2.0, off) is None


def test_dark_page_rule_uses_the_median_grey():
    params = AutoParams(invert_below=80)
    page = line_crop(32)
    assert not is_dark_page(page, params)
    assert is_dark_page(255 - page, params)


def test_native_redetection_only_for_enlarged_blurred_pages():
    params = AutoParams(native_below=0.8, native_scale=1.5)
    assert native_redetection_scale([0.5, 0.6, 1.2], 3.0, params) == 1.5  # enlarged, median line blurred
    assert native_redetection_scale([0.5, 0.6, 1.2], 1.3, params) == 1.3  # never more than the first pass
    assert native_redetection_scale([0.5, 0.6, 1.2], 1.0, params) is None  # seen at its own scale already
    assert native_redetection_scale([0.9, 1.0, 0.5], 1.3, params) is None  # sharp
    assert native_redetection_scale([], 1.3, params) is None  # nothing found


def test_a_blurred_page_is_sharpened_for_the_detector():
    params = AutoParams()
    blurred = cv2.GaussianBlur(line_crop(32), (0, 0), 2.0)
    sharpened = sharpen_page_for_detection(blurred, params)
    assert sharpened.shape == blurred.shape and sharpened.dtype == np.uint8
    assert line_sharpness(sharpened) > line_sharpness(blurred)


def boxes_of_height(*heights: float, width: float = 200.0) -> np.ndarray:
    """(N, 4, 2) axis-aligned boxes ``width`` wide, one per height."""
    return np.asarray([[[0, 0], [width, 0], [width, h], [0, h]] for h in heights], np.float32)


def test_line_height_is_the_median_short_side():
    assert line_height(boxes_of_height(10, 12, 40)) == 12
    tall = np.asarray([[[0, 0], [14, 0], [14, 300], [0, 300]]], np.float32)  # a vertical line
    assert line_height(tall) == 14
    assert line_height(np.zeros((0, 4, 2), np.float32)) == 0


def test_small_text_is_detected_again_at_the_target_height_within_the_limits():
    params = AutoParams(small_text_below=24, small_text_target=40, small_text_max_side=2560,
                        small_text_max_pixels=3_000_000)
    assert small_text_scale(boxes_of_height(10, 10, 12), (500, 220), 3.2, params) == 4.0  # 10 px -> 40
    # a tall receipt stops at the long-side limit, a square page at the pixel limit
    assert small_text_scale(boxes_of_height(8), (1000, 300), 1.6, params) == 2.56
    assert small_text_scale(boxes_of_height(8), (1000, 1000), 1.0, params) == np.sqrt(3.0)
    assert small_text_scale(boxes_of_height(30), (500, 220), 3.2, params) is None  # text is not small
    assert small_text_scale(boxes_of_height(16), (1000, 300), 2.5, params) is None  # already ~40 px
    assert small_text_scale(np.zeros((0, 4, 2), np.float32), (500, 220), 3.2, params) is None
    assert small_text_scale(boxes_of_height(10), (500, 220), 3.2, AutoParams(small_text_below=0)) is None


def test_text_evidence_prefers_more_and_surer_lines():
    assert text_evidence(np.asarray([0.9, 0.8, 0.7])) > text_evidence(np.asarray([0.95]))
    assert text_evidence(np.zeros((0,), np.float32)) == 0.0


def test_unsure_lines_are_the_least_confident_first():
    readings = [Reading("a", 0.99), Reading("b", 0.5), Reading("c", 0.7), Reading("", 0.0)]
    assert unsure_lines(readings, 0.9, 10) == [3, 1, 2]
    assert unsure_lines(readings, 0.9, 2) == [3, 1]
    assert unsure_lines(readings, 0.1, 10) == [3]


class FakeRecognizer:
    """Reads every line as the next scripted reading (a stand-in for one function's test)."""

    def __init__(self, scripted):
        self.scripted = list(scripted)
        self.seen = []

    def __call__(self, crops, seed_resize=False):
        self.seen.extend(crops)
        out, self.scripted = self.scripted[: len(crops)], self.scripted[len(crops) :]
        return Recognition(out, elapsed=0.01, onnx=0.005)


def test_second_look_keeps_the_more_likely_path_not_the_higher_confidence():
    first = [Reading("ab?c", 0.6, -0.9), Reading("xy", 0.5, -0.4)]
    # line 0: the other version is more likely -> replaced; line 1: it dropped a character and looks
    # more confident, but its path is less likely -> kept.
    rec = FakeRecognizer([Reading("abc", 0.9, -0.2), Reading("x", 0.95, -0.6)])
    crops = [np.zeros((10, 40, 3), np.uint8), np.ones((10, 30, 3), np.uint8)]
    out, replaced, second = second_look(rec, first, [0, 1], lambda i: crops[i])
    assert [r.text for r in out] == ["abc", "xy"]
    assert replaced == 1 and second.onnx == 0.005
    assert len(rec.seen) == 2


def test_second_look_never_takes_an_empty_reading():
    rec = FakeRecognizer([Reading(" ", 0.0, 0.0)])
    blank = np.zeros((5, 5, 3), np.uint8)
    out, replaced, _ = second_look(rec, [Reading("a", 0.3, -2.0)], [0], lambda i: blank)
    assert out[0].text == "a" and replaced == 0


def test_second_look_with_nothing_unsure_reads_nothing():
    rec = FakeRecognizer([])
    out, replaced, second = second_look(rec, [Reading("a", 0.99, -0.01)], [], lambda i: None)
    assert out == [Reading("a", 0.99, -0.01)] and replaced == 0 and rec.seen == [] and second.readings == []
