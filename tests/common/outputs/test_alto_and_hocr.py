"""hOCR and ALTO from results with and without words and blocks: ALTO valid against the published v4.4
schema (shipped in schemas/, no download), hOCR parsed into its classes with each word's box."""

from __future__ import annotations

import pytest
from lxml import etree, html

from ocrq.outputs import render_output
from ocrq.outputs.layout import pages, spaces_between
from tests.support.alto import alto_schema
from tests.support.layout import page_with_words, without_words

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"


def two_column_document() -> dict:
    """A 2-page document whose first page has two blocks (columns) and whose words are known."""
    _, left = page_with_words([["Left", "column", "text"], list("中文段落")], width=500)
    _, right = page_with_words([["Right", "column"]], width=500, at=(520, 0))
    lines = left["lines"] + right["lines"]
    first = {**left, "page": 1, "width": 1100, "lines": lines, "text": "…",
             "blocks": [{"box": lines[0]["box"], "lines": [0, 1]}, {"box": lines[2]["box"], "lines": [2]}]}
    _, second = page_with_words([["Second", "page"]])
    return {"format": "pdf", "page_count": 2, "text": "…", "pages": [first, {**second, "page": 2}]}


@pytest.mark.parametrize("variant", ["words and blocks", "lines only"])
def test_alto_validates_against_the_published_v4_schema(variant):
    result = two_column_document()
    if variant == "lines only":
        result = without_words(result)
    document = etree.fromstring(render_output("xml", result, name="scan & co.pdf"))
    schema = alto_schema()
    assert schema.validate(document), schema.error_log
    assert document.get("SCHEMAVERSION") == "4.4"
    page_elements = document.findall(f".//{ALTO}Page")
    assert [p.get("PHYSICAL_IMG_NR") for p in page_elements] == ["1", "2"]
    blocks = page_elements[0].findall(f".//{ALTO}TextBlock")
    assert len(blocks) == (2 if variant == "words and blocks" else 1)
    strings = [s.get("CONTENT") for s in page_elements[0].iter(f"{ALTO}String")]
    if variant == "words and blocks":
        assert strings == ["Left", "column", "text", *"中文段落", "Right", "column"]
    else:
        assert strings == ["Left column text", "中文段落", "Right column"]


def test_alto_positions_are_the_word_boxes_and_spaces_only_between_latin_words():
    result = two_column_document()
    document = etree.fromstring(render_output("xml", result))
    line = next(document.iter(f"{ALTO}TextLine"))
    children = [child.tag.removeprefix(ALTO) for child in line]
    assert children == ["String", "SP", "String", "SP", "String"]
    word = result["pages"][0]["lines"][0]["words"][1]["box"]
    string = line.findall(f"{ALTO}String")[1]
    assert (int(string.get("HPOS")), int(string.get("VPOS"))) == (int(word[0][0]), int(word[0][1]))
    assert int(string.get("WIDTH")) == pytest.approx(word[1][0] - word[0][0], abs=1)
    cjk_line = list(document.iter(f"{ALTO}TextLine"))[1]
    assert not cjk_line.findall(f"{ALTO}SP")  # CJK characters stand next to each other


def test_an_invalid_alto_document_fails_the_schema():
    """The schema check can fail: a String without CONTENT is refused."""
    document = etree.fromstring(render_output("xml", two_column_document()))
    next(document.iter(f"{ALTO}String")).attrib.pop("CONTENT")
    assert not alto_schema().validate(document)


def test_hocr_has_pages_areas_paragraphs_lines_and_words_with_boxes():
    result = two_column_document()
    tree = html.fromstring(render_output("hocr", result))
    assert [p.get("title") for p in tree.find_class("ocr_page")] == [
        f"bbox 0 0 1100 {result['pages'][0]['height']}; ppageno 0",
        f"bbox 0 0 {result['pages'][1]['width']} {result['pages'][1]['height']}; ppageno 1"]
    first_page = tree.find_class("ocr_page")[0]
    assert len(first_page.find_class("ocr_carea")) == 2 and len(first_page.find_class("ocr_par")) == 2
    words = tree.find_class("ocrx_word")
    expected = [w for page in result["pages"] for line in page["lines"] for w in line["words"]]
    assert [w.text_content() for w in words] == [w["text"] for w in expected]
    for element, word in zip(words, expected, strict=True):
        bbox, wconf = element.get("title").split("; ")
        xs, ys = [p[0] for p in word["box"]], [p[1] for p in word["box"]]
        assert bbox == f"bbox {int(min(xs))} {int(min(ys))} {round(max(xs))} {round(max(ys))}"
        assert wconf == "x_wconf 93"
    lines = [line.text_content() for line in tree.find_class("ocr_line")]
    assert lines[:2] == ["Left column text", "中文段落"]  # spaces between Latin words only


def test_hocr_of_lines_only_has_one_word_per_line():
    tree = html.fromstring(render_output("hocr", without_words(two_column_document())))
    assert [w.text_content() for w in tree.find_class("ocrx_word")] == [
        "Left column text", "中文段落", "Right column", "Second page"]


def test_text_is_each_pages_text_with_form_feeds():
    result = {"pages": [{"text": "one", "lines": []}, {"text": "二", "lines": []}]}
    assert render_output("txt", result) == b"one\n\x0c\n\xe4\xba\x8c\n"


def test_blocks_that_leave_lines_out_keep_them_in_a_block_of_their_own():
    _, page = page_with_words([["a"], ["b"], ["c"]])
    read = pages({**page, "blocks": [{"box": page["lines"][1]["box"], "lines": [1, 7]}]})[0]
    assert [[line.text for line in block.lines] for block in read.blocks] == [["b"], ["a", "c"]]


@pytest.mark.parametrize(("line", "words", "spaces"), [
    ("Hello big world", ["Hello", "big", "world"], [True, True, False]),
    ("中文识别", ["中", "文", "识", "别"], [False, False, False, False]),
    ("价格 42 元", ["价", "格", "42", "元"], [False, True, True, False]),
    ("abc", ["x", "y"], [True, False]),  # words not in the text: Latin neighbours get a space
])
def test_spaces_between_words_follow_the_lines_text(line, words, spaces):
    assert spaces_between(line, words) == spaces
