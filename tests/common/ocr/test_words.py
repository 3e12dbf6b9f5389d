"""Words and characters placed by the CTC alignment: the pure geometry on made-up readings, then the real
model on a rendered two-column page (reading order, blocks, word boxes where the words were drawn)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocrq.ocr.ctc import Reading
from ocrq.ocr.words import glyphs, sub_boxes, word_runs
from tests.support.render import encode, font, render_png

BOX = np.float32([[0, 0], [400, 0], [400, 48], [0, 48]])


def reading(text: str, positions: list[int], width: float = 50.0) -> Reading:
    return Reading(text, 0.9, -0.1, tuple(positions), tuple(0.5 + 0.01 * i for i in range(len(text))),
                   int(np.ceil(width)), width)


def test_words_are_runs_between_spaces_and_each_cjk_character_alone():
    assert word_runs("Hi, 你好 ok2") == [[0, 1, 2], [4], [5], [7, 8, 9]]
    assert word_runs("ABC中文") == [[0, 1, 2], [3], [4]]


def test_word_boxes_lie_along_the_line_in_order_and_inside_it():
    r = reading("ab cd", [5, 8, 14, 17, 20], width=50)
    words, chars = glyphs(r, BOX, BOX)
    assert words.texts == ["ab", "cd"] and chars.texts == list("abcd")
    lefts = list(chars.boxes[:, 0, 0])
    assert lefts == sorted(lefts) and all(0 <= b[:, 0].min() < b[:, 0].max() <= 400 for b in words.boxes)
    assert words.boxes[0, 1, 0] <= words.boxes[1, 0, 0]  # the space lies between them
    assert words.confidences[0] == pytest.approx(np.mean(r.probabilities[:2]), abs=1e-4)
    assert all((b[:, 1] == BOX[:, 1]).all() for b in words.boxes)  # the line's full height


def test_a_tilted_line_gives_tilted_word_boxes():
    angle = np.deg2rad(10)
    turn = np.asarray([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    tilted = BOX @ turn.T
    words, _ = glyphs(reading("ab cd", [5, 8, 14, 17, 20]), tilted, tilted)
    top = words.boxes[1, 1] - words.boxes[1, 0]
    assert np.arctan2(top[1], top[0]) == pytest.approx(angle, abs=1e-3)


def test_vertical_and_turned_lines_run_their_own_way():
    tall = np.float32([[0, 0], [48, 0], [48, 400], [0, 400]])
    down = sub_boxes(tall, [0.0], [0.25], vertical=True, turned=False)[0]
    assert down[:, 1].max() == pytest.approx(100) and down[:, 0].min() == 0  # the top quarter, full width
    back = sub_boxes(BOX, [0.0], [0.25], vertical=False, turned=True)[0]
    assert back[:, 0].min() == pytest.approx(300)  # read right to left: the first quarter is on the right
    assert (back[0] == [300, 0]).all()  # corners in the line box's own order


def test_a_frame_grown_at_the_border_maps_back_into_the_box():
    frame = BOX + np.float32([[-12, -12], [0, -12], [0, 0], [-12, 0]])  # the crop's margin on the left
    words, _ = glyphs(reading("ab", [0, 1], width=20), frame, BOX)
    assert words.boxes[0, 0, 0] == 0.0  # clipped to the line, not in the margin


# --- the real model on a rendered page ---------------------------------------------------------------

TITLE = "Annual Report 年度报告"
ENGLISH = ("The quick brown fox jumps over the lazy dog while seven wizards quietly judge boxing "
           "matches near the river every Sunday morning").split()
CHINESE = ("我们在今年完成了新系统的设计与测试工作，服务的速度提高了一倍，"
           "用户的反馈也非常积极。明年计划继续扩展功能。")


def wrap(words: list[str], face, width: int, sep: str) -> list[str]:
    lines, current = [], ""
    for w in words:
        trial = current + sep + w if current else w
        if face.getlength(trial) > width and current:
            lines.append(current)
            current = w
        else:
            current = trial
    return [*lines, current]


@pytest.fixture(scope="module")
def two_columns():
    """A white page: a full-width title, English on the left, Chinese on the right; what was drawn where."""
    page = Image.new("RGB", (1100, 560), "white")
    draw = ImageDraw.Draw(page)
    title_face, body = font(40), font(26)
    draw.text((300, 40), TITLE, fill="black", font=title_face)
    words: list[tuple[str, tuple[float, float, float, float]]] = []
    left = wrap(ENGLISH, body, 440, " ")
    right = wrap(list(CHINESE), body, 440, "")
    for k, line in enumerate(left):
        y = 140 + k * 46
        draw.text((50, y), line, fill="black", font=body)
        _, top, _, bottom = draw.textbbox((50, y), line, font=body)
        for i, w in enumerate(line.split(" ")):
            x = 50 + body.getlength(" ".join(line.split(" ")[:i]) + (" " if i else ""))
            x0, _, x1, _ = draw.textbbox((x, y), w, font=body)
            words.append((w, (x0, top, x1, bottom)))
    for k, line in enumerate(right):
        draw.text((600, 140 + k * 46), line, fill="black", font=body)
    return encode(page), left, right, words


@pytest.fixture(scope="module")
def read_page(engine, two_columns):
    return engine.run(two_columns[0], chars=True)


def squash(text: str) -> str:
    return "".join(text.split())


def iou(box: list[list[float]], rect: tuple[float, float, float, float]) -> float:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    a = (min(xs), min(ys), max(xs), max(ys))
    across = max(0.0, min(a[2], rect[2]) - max(a[0], rect[0]))
    inter = across * max(0.0, min(a[3], rect[3]) - max(a[1], rect[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (rect[2] - rect[0]) * (rect[3] - rect[1]) - inter
    return inter / union


def test_a_two_column_page_reads_title_then_left_column_then_right(read_page, two_columns):
    _, left, right, _ = two_columns
    result = read_page
    region = ["title" if line.box[0][1] < 120 else "left" if line.box[0][0] < 550 else "right"
              for line in result.lines]
    assert region == ["title"] * region.count("title") + ["left"] * len(left) + ["right"] * len(right)
    assert squash(result.text) == squash(TITLE + "".join(left) + "".join(right))
    assert len(result.blocks) >= 2 and "\n\n" in result.text
    assert [i for b in result.blocks for i in b.lines] == list(range(len(result.lines)))


def test_word_boxes_cover_the_words_drawn(read_page, two_columns):
    words = [w for line in read_page.lines for w in line.words]
    checked = 0
    for text, rect in two_columns[3]:
        if len(text) < 5:
            continue
        found = [w for w in words if w.text == text]
        assert found, f"{text!r} was not read as a word"
        assert max(iou(w.box, rect) for w in found) > 0.5, text
        checked += 1
    assert checked >= 8


def test_cjk_characters_are_words_and_characters_come_when_asked(engine, read_page):
    chinese = [line for line in read_page.lines if line.box[0][0] > 550]
    assert chinese and all(len(w.text) == 1 for line in chinese for w in line.words)
    for line in read_page.lines:
        assert line.chars is not None
        assert "".join(c.text for c in line.chars) == squash(line.text)
        assert all(0 <= c.confidence <= 1 for c in line.chars)


def test_a_page_read_upside_down_gives_word_boxes_where_the_words_are(engine):
    page = Image.open(io.BytesIO(render_png(["Hello world 2024", "上下文 Context"], size=36)))
    result = engine.run(encode(page.rotate(180)))
    assert result.angle == 180
    first = result.lines[0]
    assert [w.text for w in first.words] == ["Hello", "world", "2024"]
    xs = [np.mean([p[0] for p in w.box]) for w in first.words]
    assert xs == sorted(xs, reverse=True)  # upside down in the upload: the text runs right to left
    line = np.asarray(first.box)
    for word in first.words:
        box = np.asarray(word.box)
        assert (box.min(0) >= line.min(0) - 1).all() and (box.max(0) <= line.max(0) + 1).all()
        assert np.allclose(box[0] - box[3], line[0] - line[3], atol=1.5)  # the same corner order


def test_words_characters_and_blocks_scale_to_the_upload():
    from ocrq.ocr.result import OcrBlock, OcrLine, OcrResult, OcrWord

    box = [[10.0, 10.0], [50.0, 10.0], [50.0, 20.0], [10.0, 20.0]]
    line = OcrLine("ab", 0.9, box, [OcrWord("ab", 0.9, box)], [OcrWord("a", 0.9, box)])
    result = OcrResult(100, 50, [line], "auto", blocks=[OcrBlock(box, [0])]).in_upload_pixels(0.5, 200, 100)
    doubled = [[20.0, 20.0], [100.0, 20.0], [100.0, 40.0], [20.0, 40.0]]
    assert result.lines[0].box == result.lines[0].words[0].box == doubled
    assert result.lines[0].chars is not None and result.lines[0].chars[0].box == doubled
    assert result.blocks[0].box == doubled and result.blocks[0].lines == [0]
