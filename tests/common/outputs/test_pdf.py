"""The searchable PDF: its text, extracted by PDFium and by poppler, is the job's text, each search hit
lies on its word's box, and a PDF upload's own pages come back untouched under the text layer."""

from __future__ import annotations

import io

import pikepdf
import pytest

from ocrq.outputs import render_output
from tests.support.documents import pdf_bytes, tiff_bytes
from tests.support.layout import page_with_words, without_words
from tests.support.pdftext import inside, normalised, pdfium_pages, poppler_pages, search_box
from tests.support.render import encode

LINES = [["Searchable", "PDF", "for", "everyone"], list("中文识别测试"), ["version", "2026", "ready"]]


@pytest.fixture(scope="module")
def page():
    return page_with_words(LINES)


def word_box(result: dict, text: str) -> tuple[float, ...]:
    for line in result["lines"]:
        for word in line["words"]:
            if word["text"] == text:
                xs, ys = [p[0] for p in word["box"]], [p[1] for p in word["box"]]
                return min(xs), min(ys), max(xs), max(ys)
    raise AssertionError(text)


def test_an_image_becomes_a_page_whose_text_both_readers_extract_as_the_job_text(page):
    image, result = page
    pdf = render_output("pdf", result, encode(image), None)
    assert [normalised(t) for t in pdfium_pages(pdf)] == [normalised(result["text"])]
    assert [normalised(t) for t in poppler_pages(pdf)] == [normalised(result["text"])]
    assert "识别测试" in poppler_pages(pdf)[0]  # one word to poppler: searching "识别" finds it


@pytest.mark.parametrize("needle", ["Searchable", "everyone", "2026", "识", "试"])
def test_a_search_hit_falls_inside_its_words_box(page, needle):
    image, result = page
    pdf = render_output("pdf", result, encode(image), None)
    hit = search_box(pdf, 0, needle, image.size)
    box = word_box(result, needle)
    assert inside(hit, box), (hit, box)
    assert hit[2] - hit[0] > 0.8 * (box[2] - box[0])  # and covers it, not a sliver of it


def test_a_result_without_words_gives_each_line_as_one_word(page):
    image, result = page
    pdf = render_output("pdf", without_words(result), encode(image), None)
    assert [normalised(t) for t in pdfium_pages(pdf)] == [normalised(result["text"])]
    assert [normalised(t) for t in poppler_pages(pdf)] == [normalised(result["text"])]
    hit = search_box(pdf, 0, "Searchable PDF for everyone", image.size)
    assert inside(hit, tuple(result["lines"][0]["box"][0] + result["lines"][0]["box"][2]))


def test_a_jpeg_is_embedded_as_its_own_bytes(page):
    image, result = page
    jpeg = encode(image, "JPEG", quality=80)
    pdf = pikepdf.open(io.BytesIO(render_output("pdf", result, jpeg, None)))
    images = list(pdf.pages[0].get_images().values())
    assert len(images) == 1 and images[0].read_raw_bytes() == jpeg
    width_pt = float(pdf.pages[0].mediabox[2])
    assert width_pt == pytest.approx(image.width * 72 / 150, abs=0.01)  # no dpi in the file: 150 assumed


def test_a_pdf_upload_keeps_its_pages_untouched_and_gains_their_text():
    pages = [page_with_words([[f"Page{n}", "of", "three"], list("第页文字")], width=600) for n in (1, 2, 3)]
    upload = pdf_bytes([image for image, _ in pages])
    result = {"format": "pdf", "page_count": 3, "dpi": 150, "text": "",
              "pages": [{**r, "page": n, "dpi": 150} for n, (_, r) in enumerate(pages, 1)]}
    out = render_output("pdf", result, upload, {"format": "pdf", "pages": 3, "dpi": 150})

    before, after = pikepdf.open(io.BytesIO(upload)), pikepdf.open(io.BytesIO(out))
    assert len(after.pages) == 3
    for old, new in zip(before.pages, after.pages, strict=True):
        assert [float(v) for v in new.mediabox] == [float(v) for v in old.mediabox]
        original = old.obj.Contents.read_bytes()
        streams = [s.read_bytes() for s in new.obj.Contents]
        assert original in streams  # the page's own content stream, byte for byte
        assert streams[0] == b"q\n" and streams[-1].startswith(b"Q\n")  # wrapped, the text after it
        [image_before], [image_after] = old.get_images().values(), new.get_images().values()
        assert image_after.read_raw_bytes() == image_before.read_raw_bytes()
    expected = [normalised(r["text"]) for _, r in pages]
    assert [normalised(t) for t in pdfium_pages(out)] == expected
    assert [normalised(t) for t in poppler_pages(out)] == expected
    hit = search_box(out, 2, "Page3", pages[2][0].size)
    assert inside(hit, word_box(pages[2][1], "Page3"))


def test_a_turned_pdf_page_gets_its_text_where_it_is_shown():
    """A page with /Rotate 90 is rendered turned (the OCR boxes are in the turned image): the text goes
    where PDFium shows the word, not where the unturned page has it."""
    image, result = page_with_words([["Turned", "page"]], width=500)
    upload = pdf_bytes([image.rotate(90, expand=True)])  # stored sideways, shown upright by /Rotate
    pdf = pikepdf.open(io.BytesIO(upload))
    pdf.pages[0].obj.Rotate = 270
    buffer = io.BytesIO()
    pdf.save(buffer)
    out = render_output("pdf", {"pages": [{**result, "page": 1, "dpi": 150}]}, buffer.getvalue(),
                        {"format": "pdf", "pages": 1, "dpi": 150})
    assert normalised(pdfium_pages(out)[0]) == "Turned page"
    assert normalised(poppler_pages(out)[0]) == "Turned page"
    hit = search_box(out, 0, "Turned", image.size)  # PDFium's page size is the shown (turned) one
    assert inside(hit, word_box(result, "Turned"), slack=3)


def test_a_multi_page_tiff_becomes_one_page_per_frame_with_its_text():
    pages = [page_with_words([[f"Frame{n}", "text"], list("图像")], width=400) for n in (1, 2)]
    upload = tiff_bytes([image for image, _ in pages])
    result = {"format": "tiff", "page_count": 2,
              "pages": [{**r, "page": n} for n, (_, r) in enumerate(pages, 1)]}
    out = render_output("pdf", result, upload, {"format": "tiff", "pages": 2})
    assert len(pikepdf.open(io.BytesIO(out)).pages) == 2
    expected = [normalised(r["text"]) for _, r in pages]
    assert [normalised(t) for t in pdfium_pages(out)] == expected
    assert [normalised(t) for t in poppler_pages(out)] == expected
    assert inside(search_box(out, 1, "Frame2", pages[1][0].size), word_box(pages[1][1], "Frame2"))


@pytest.mark.parametrize(("size", "dpi"), [((4, 4), None), ((400, 100), (1, 1)), ((30000, 40), (72, 72))])
def test_any_image_size_and_resolution_makes_a_page_readers_accept(size, dpi):
    """A TIFF saying 1 dpi, a 4-pixel image, a 30000-pixel strip: a page between 3 and 14400 points."""
    from PIL import Image

    image = Image.new("L", size, 255)
    result = {"width": size[0], "height": size[1], "text": "x",
              "lines": [{"text": "x", "confidence": 0.9, "box": [[0, 0], [size[0], 0], size, [0, size[1]]]}]}
    out = render_output("pdf", result, encode(image, "PNG", **({"dpi": dpi} if dpi else {})), None)
    pdf = pikepdf.open(io.BytesIO(out))
    box = [float(v) for v in pdf.pages[0].mediabox]
    assert all(3 <= side <= 14400 for side in box[2:]), box
    assert normalised(pdfium_pages(out)[0]) == "x"


def test_a_pdf_qpdf_cannot_read_is_a_422_error_not_a_crash():
    from ocrq.errors import UndecodableDocument

    with pytest.raises(UndecodableDocument) as caught:
        render_output("pdf", {"pages": []}, b"%PDF-1.7\nnot a pdf at all", {"format": "pdf", "pages": 1})
    assert caught.value.http_status == 422
