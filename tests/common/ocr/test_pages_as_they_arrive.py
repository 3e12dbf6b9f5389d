"""Pages as they arrive, read by the real model on images the tests render: turned a quarter or half
way, vertical text, white text on a transparent PNG, a tight crop of one line, a cut-off strip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocrq.ocr.upright import turn, unturn
from tests.support.render import encode, font, render_lines

LINES = ["增值税专用发票 Invoice", "金额 Amount 1,250.00", "日期 2026-12-01"]
TURNS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def squash(text: str) -> str:
    return "".join(text.split())


def bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return bgr(render_lines(LINES, size=32))


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
def test_a_turned_page_is_read_upright_with_its_boxes_where_the_text_is(engine, page, turned):
    """The upload is the page turned ``turned`` degrees clockwise: ocrq turns it back (``angle``) and
    gives each line's box in the upload's own coordinates, around the same text as on the upright page."""
    upload = page if TURNS[turned] is None else cv2.rotate(page, TURNS[turned])
    result = engine.run_array(upload, enhance="auto")
    assert [squash(line.text) for line in result.lines] == [squash(t) for t in LINES]
    assert result.angle == (360 - turned) % 360
    assert (result.width, result.height) == (upload.shape[1], upload.shape[0])
    upright = engine.run_array(page, enhance="auto")
    for mine, reference in zip(result.lines, upright.lines, strict=True):
        # the upload's box, turned with the page, is the upright page's box (to within a few pixels)
        back = turn_points(np.asarray(mine.box), result.angle, upload.shape[1], upload.shape[0])
        assert np.abs(np.sort(back, axis=0) - np.sort(np.asarray(reference.box), axis=0)).max() < 6


def turn_points(points: np.ndarray, angle: int, width: int, height: int) -> np.ndarray:
    """Points of a (width x height) image, where they are once it is turned ``angle`` clockwise."""
    x, y = points[..., 0], points[..., 1]
    turned = {0: (x, y), 90: (height - y, x), 180: (width - x, height - y), 270: (y, width - x)}[angle]
    return np.stack(turned, axis=-1)


def test_turn_and_unturn_are_inverses():
    image = np.arange(5 * 8 * 3, dtype=np.uint8).reshape(5, 8, 3)
    points = np.asarray([[[1.0, 2.0], [7.0, 2.0], [7.0, 4.0], [1.0, 4.0]]], np.float32)
    for angle in (90, 180, 270):
        turned = turn(image, angle)
        x, y = 6, 3  # a pixel of the upload, and where turning puts it
        moved = {90: (4 - y, x), 180: (7 - x, 4 - y), 270: (y, 7 - x)}[angle]
        assert (turned[moved[1], moved[0]] == image[y, x]).all()
        # a point of the turned page goes back to where it was in the upload
        h, w = image.shape[:2]
        assert np.allclose(unturn(turn_points(points, angle, w, h), angle, w, h), points)


def vertical_column(text: str, size: int = 32) -> np.ndarray:
    """Chinese written top to bottom: each character upright, one under the other."""
    image = Image.new("RGB", (size + 40, (size + 4) * len(text) + 40), "white")
    draw = ImageDraw.Draw(image)
    for i, character in enumerate(text):
        draw.text((20, 20 + i * (size + 4)), character, fill="black", font=font(size))
    return bgr(image)


def test_vertical_text_is_read_as_such_and_told_from_a_sideways_page(engine):
    column = engine.run_array(vertical_column("竖排文字识别"), enhance="auto")
    assert column.text == "竖排文字识别" and column.angle == 0  # the page is upright: its text is vertical
    two = np.concatenate([vertical_column("后读左列"), vertical_column("先读右列")], axis=1)
    columns = engine.run_array(two, enhance="auto")
    assert columns.text == "先读右列\n后读左列" and columns.angle == 0  # columns right to left
    sideways = cv2.rotate(bgr(render_lines(["侧放的页面 Sideways page"], size=32)), cv2.ROTATE_90_CLOCKWISE)
    read = engine.run_array(sideways, enhance="auto")
    assert squash(read.text) == "侧放的页面Sidewayspage" and read.angle == 270


def test_white_text_on_a_transparent_png_is_read(engine):
    image = Image.new("RGBA", (420, 80), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((20, 20), "透明背景 White 42", fill=(255, 255, 255, 255), font=font(32))
    assert squash(engine.run(encode(image)).text) == "透明背景White42"
    dark = Image.new("RGBA", (420, 80), (0, 0, 0, 0))
    ImageDraw.Draw(dark).text((20, 20), "黑色文字 Black 42", fill=(0, 0, 0, 255), font=font(32))
    assert squash(engine.run(encode(dark)).text) == "黑色文字Black42"


def test_a_tight_crop_of_one_line_is_read(engine):
    text = "增值税专用发票 发票代码 144031900110 发票号码 02763841 开票日期 2026年12月01日"
    page = bgr(render_lines([text], size=28, margin=40))
    ink_rows, ink_cols = np.where(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) < 128)
    tight = np.ascontiguousarray(page[ink_rows.min(): ink_rows.max() + 1, ink_cols.min(): ink_cols.max() + 1])
    assert squash(engine.run_array(tight, enhance="auto").text) == squash(text)


def test_a_strip_of_a_cut_off_line_at_the_edge_is_not_read(engine):
    two = bgr(render_lines(["第一行文字 First line", "第二行 Second line 123"], size=32, margin=20))
    rows = np.where((cv2.cvtColor(two, cv2.COLOR_BGR2GRAY) < 128).any(axis=1))[0]
    first_bottom = rows[np.where(np.diff(rows) > 1)[0][0]]
    for kept in (6, 10, 12, 15):  # that many pixel rows of the first line's bottom are left at the top
        cut = np.ascontiguousarray(two[first_bottom - kept:])
        assert [squash(line.text) for line in engine.run_array(cut, enhance="auto").lines] == \
            ["第二行Secondline123"], kept


def test_with_line_orientation_a_line_printed_upside_down_is_read_too(page):
    """OCRQ_USE_ORIENTATION: a line the classifier calls upside down is read turned over, and kept so
    only when that reads more likely; the upright lines around it stay as they are."""
    from ocrq.config import Settings
    from ocrq.ocr import OcrEngine

    mixed = page.copy()
    rows = np.where((cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) < 128).any(axis=1))[0]
    breaks = np.where(np.diff(rows) > 1)[0]
    top, bottom = rows[breaks[0] + 1] - 4, rows[breaks[1]] + 4  # the second line, turned over in place
    mixed[top:bottom] = cv2.rotate(np.ascontiguousarray(page[top:bottom]), cv2.ROTATE_180)
    both_ways = OcrEngine.from_settings(Settings(ort_threads=1, use_orientation=True))
    assert [squash(line.text) for line in both_ways.run_array(mixed, enhance="auto").lines] == \
        [squash(t) for t in LINES]
    assert [squash(line.text) for line in both_ways.run_array(page, enhance="auto").lines] == \
        [squash(t) for t in LINES]
