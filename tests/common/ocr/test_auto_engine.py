"""The auto mode with the real models on pages the tests render and then degrade."""

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from tests.support.render import encode, render_lines

LINES = ["增值税专用发票", "购买方名称：某某科技有限公司", "合计金额 ¥1,234.50"]
TRUTH = "".join("".join(LINES).split())


def squash(text: str) -> str:
    return "".join(text.split())


def texts(result) -> list[str]:
    return [squash(line.text) for line in result.lines]


def edits(result) -> int:
    return Levenshtein.distance("".join(texts(result)), TRUTH)


def test_clean_page_reads_the_same_as_off(engine):
    data = encode(render_lines(LINES, size=28))
    auto, off = engine.run(data, enhance="auto"), engine.run(data, enhance="off")
    assert texts(auto) == texts(off) == [squash(t) for t in LINES]
    assert {"total", "onnx", "det", "rec"} <= set(auto.timings_ms)


def test_blurred_low_resolution_page_is_read_at_least_as_well_as_off(engine):
    page = np.asarray(render_lines(LINES, size=30))
    small = cv2.resize(page, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)  # text ~10 px tall
    data = encode(cv2.GaussianBlur(small, (0, 0), 1.2), "JPEG", quality=60)
    auto, off = engine.run(data, enhance="auto"), engine.run(data, enhance="off")
    assert len(auto.lines) == len(LINES)
    assert edits(auto) <= edits(off)
    assert edits(auto) <= 0.15 * len(TRUTH)


def test_blurred_dark_mode_page_is_read(engine):
    # light text on a dark ground, blurred: the detector finds no line in it as it is (off reads nothing),
    # the auto mode finds them in the inverted page
    page = (255 - np.asarray(render_lines(LINES, size=24))) * 0.8 + 20
    blurred = cv2.GaussianBlur(page.astype(np.uint8), (0, 0), 3.5)
    result = engine.run(encode(blurred), enhance="auto")
    assert edits(result) <= 2
    for line in result.lines:  # boxes stay in the page's own coordinates
        box = np.asarray(line.box)
        assert (box >= 0).all() and (box[:, 0] <= page.shape[1]).all() and (box[:, 1] <= page.shape[0]).all()


def counting(engine, monkeypatch) -> list:
    """Record the input size of every detection the engine runs."""
    sizes, detect = [], engine.detector

    class Counting:
        params = detect.params

        def __call__(self, image, params=None, scale=None):
            detection = detect(image, params, scale)
            sizes.append(detection.input_size)
            return detection

    monkeypatch.setattr(engine, "detector", Counting())
    return sizes


def test_a_blurred_page_is_detected_again_sharpened_and_nearer_its_own_scale_if_enlarged(engine, monkeypatch):
    sizes = counting(engine, monkeypatch)
    page = np.asarray(render_lines(LINES, size=30))
    canvas = np.full((1010, 800, 3), 255, np.uint8)  # short side 800 >= min_side: 1010 only rounds to 1024
    canvas[: page.shape[0], : page.shape[1]] = page[:1010, :800]
    engine.run(encode(cv2.GaussianBlur(canvas, (0, 0), 2.0)), enhance="auto")
    assert sizes == [(1024, 800), (1024, 800)]  # the second pass on the sharpened page, same scale

    sizes.clear()
    small = cv2.resize(canvas, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # 505 x 400: enlarged
    engine.run(encode(cv2.GaussianBlur(small, (0, 0), 1.5)), enhance="auto")
    assert sizes == [(928, 736), (768, 608)]  # 1.84x first, then 1.5x (AutoParams.native_scale)

    sizes.clear()
    engine.run(encode(canvas), enhance="auto")
    assert sizes == [(1024, 800)]  # sharp: one pass
