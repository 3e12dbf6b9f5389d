"""The real models on images the tests render: the recognised text must be the text drawn."""

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from ocrq.errors import InvalidOption, UnsupportedImage
from tests.support.render import encode, render_lines, render_png

LINES = ["增值税专用发票", "购买方名称：某某科技有限公司", "Invoice No. 20241125-0042", "合计金额 ¥1,234.50"]


def squash(text: str) -> str:
    return "".join(text.split())


def texts(result) -> list[str]:
    return [squash(line.text) for line in result.lines]


@pytest.mark.parametrize("mode", ["off", "seed", "auto"])
def test_reads_chinese_and_english_lines_in_order(engine, mode):
    result = engine.run(render_png(LINES, size=28), enhance=mode)
    assert texts(result) == [squash(t) for t in LINES]
    assert all(0.8 <= line.confidence <= 1.0 for line in result.lines)
    assert result.enhance == mode


def test_boxes_are_in_original_coordinates(engine):
    page = render_lines(LINES, size=28, margin=40)
    result = engine.run(encode(page))
    assert (result.width, result.height) == page.size
    first = np.asarray(result.lines[0].box)
    assert first.shape == (4, 2)
    # the first line is drawn at (40, 40), 28 px tall: its box surrounds that spot
    assert 25 <= first[:, 0].min() <= 45 and 25 <= first[:, 1].min() <= 50
    assert first[:, 1].max() <= 40 + 28 * 2
    for line in result.lines:
        box = np.asarray(line.box)
        assert (box >= 0).all() and (box[:, 0] <= page.width).all() and (box[:, 1] <= page.height).all()


def test_blurred_low_resolution_jpeg_is_read(engine):
    page = np.asarray(render_lines(LINES, size=28))
    small = cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), 1.2)
    result = engine.run(encode(blurred, "JPEG", quality=50), enhance="auto")
    assert texts(result) == [squash(t) for t in LINES]


def test_result_dict_has_the_documented_fields(engine):
    data = engine.run(render_png(["Hello 你好"], size=32)).to_dict()
    assert set(data) >= {"width", "height", "lines", "text", "timings_ms", "model", "enhance", "blocks"}
    assert squash(data["text"]) == "Hello你好"
    assert {"det", "rec", "decode", "total", "onnx"} <= set(data["timings_ms"])
    assert data["model"]["name"] == "ppocrv6"
    assert set(data["lines"][0]) == {"text", "confidence", "box", "words"}  # chars: only when asked
    assert [w["text"] for w in data["lines"][0]["words"]] == ["Hello", "你", "好"]
    assert data["blocks"] == [{"box": data["blocks"][0]["box"], "lines": [0]}]


def test_blank_page_is_a_valid_empty_result(engine):
    result = engine.run(encode(np.full((300, 400, 3), 255, np.uint8)))
    assert result.lines == [] and result.text == ""


def test_rotated_page_photo_with_exif_is_read_upright(engine):
    from PIL import Image

    page = render_lines(["上下文 Context 2024"], size=36)
    stored = page.transpose(Image.Transpose.ROTATE_90)  # as a camera stores it...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the tag that says "rotate 90 clockwise to show"
    result = engine.run(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert texts(result) == ["上下文Context2024"]


def test_bad_input_raises_typed_errors(engine):
    with pytest.raises(UnsupportedImage):
        engine.run(b"not an image")
    with pytest.raises(InvalidOption):
        engine.run(render_png(["x"]), enhance="sharpen")


def test_one_engine_serves_concurrent_calls(engine):
    """Nothing of a call lives on the engine or its stages: threads sharing one engine get what one call at
    a time gets, and each result's timings are its own (onnxruntime time within its own total)."""
    pages = [render_png([f"线程 Thread {n}", f"第 {n} 页"], size=32) for n in range(4)]
    serial = [engine.run(p, enhance="auto") for p in pages]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda p: engine.run(p, enhance="auto"), pages * 3))
    assert [r.text for r in parallel] == [r.text for r in serial] * 3
    assert all("Thread" in r.text for r in serial)
    for result in parallel:
        timings = result.timings_ms
        assert 0 < timings["onnx"] <= timings["total"]
        assert timings["det"] + timings["rec"] <= timings["total"]


@pytest.mark.parametrize("blur", [0.0, 1.0])
@pytest.mark.parametrize("gap", [" ", "    "])
def test_invoice_row_keeps_its_numbers_apart(engine, gap, blur):
    # the row: quantity, unit price and amount read as one token would be a wrong invoice
    page = np.asarray(render_lines([gap.join(["办公用品", "10", "25.00", "250.00"])], size=22))
    image = cv2.GaussianBlur(page, (0, 0), blur) if blur else page
    result = engine.run(encode(image))
    tokens = " ".join(line.text for line in result.lines).split()
    assert tokens[-3:] == ["10", "25.00", "250.00"], [line.text for line in result.lines]
